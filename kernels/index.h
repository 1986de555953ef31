// Launchers of kernels/index.cu. Plain C++: device pointers, sizes,
// strides, a dtype and a stream (see kernels/kernels.h for what every
// launcher does).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "common/strided_array.h"

namespace kiln::kernels {

// out[..., j, ...] = x[..., index[j], ...] along dim; index int64 1-D with
// index_stride; out.sizes[dim] index entries.
void launch_index_select(const StridedArray& x, int dim, const int64_t* index, int64_t index_stride,
                         const StridedArray& out, cudaStream_t stream);
// out[p] = x[p with coordinate dim replaced by index[p]]; index int64 with out's sizes.
void launch_gather(const StridedArray& x, int dim, const StridedArray& index, const StridedArray& out,
                   cudaStream_t stream);
// out[p with coordinate dim replaced by index[p]] += src[p] for every p of
// index (src has index's sizes); atomics, so the order of additions is not fixed.
void launch_scatter_add(const StridedArray& out, int dim, const StridedArray& index, const StridedArray& src,
                        cudaStream_t stream);

}  // namespace kiln::kernels
