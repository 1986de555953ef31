// Launchers of kernels/sort.cu: stable sort and top-k along the rows of a
// contiguous [R, n] tensor. Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// Scratch bytes launch_sort / launch_topk need for R rows of n.
size_t sort_workspace_bytes(int64_t R, int64_t n);
// values [R, n] (x's dtype) and indices [R, n] (int64, positions in the row)
// of each row of x sorted stably, ascending or descending; NaN orders above
// +inf and -0 equals +0, as on the CPU. All 8 dtypes.
void launch_sort(const void* x, void* values, int64_t* indices, void* workspace, DType dtype, int64_t R, int64_t n,
                 bool descending, cudaStream_t stream);
// The first k of each row of that sort (largest: descending): values [R, k],
// indices [R, k]; ties go to the lower position.
void launch_topk(const void* x, void* values, int64_t* indices, void* workspace, DType dtype, int64_t R, int64_t n,
                 int64_t k, bool largest, cudaStream_t stream);

}  // namespace kiln::kernels
