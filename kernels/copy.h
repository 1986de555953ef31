// Launchers of kernels/copy.cu. Plain C++: device pointers, sizes,
// strides, a dtype and a stream (see kernels/kernels.h for what every
// launcher does).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "common/strided_array.h"
#include "kiln/core/dtype.h"

namespace kiln::kernels {

// dst = cast(src), same sizes; any dtypes and strides (src may broadcast).
void launch_copy(const StridedArray& src, const StridedArray& dst, cudaStream_t stream);
// Every element of out = *value (one element of out.dtype, in host memory).
void launch_fill(const StridedArray& out, const void* value, cudaStream_t stream);
// out[i] = start + i * step for a contiguous 1-D out of n elements.
void launch_arange(void* out, DType dtype, int64_t n, double start, double step, cudaStream_t stream);

}  // namespace kiln::kernels
