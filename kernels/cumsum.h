// Launcher of kernels/cumsum.cu. Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// y[o, k, i] = sum of x[o, k', i] for k' <= k (reverse: k' >= k) over the
// contiguous [outer, n, inner] view of x and y (same dtype). Floating sums in
// f64, integer ones in int64, as on the CPU. All 8 dtypes.
void launch_cumsum(const void* x, void* y, DType dtype, int64_t outer, int64_t n, int64_t inner, bool reverse,
                   cudaStream_t stream);

}  // namespace kiln::kernels
