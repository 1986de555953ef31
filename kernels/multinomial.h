// Launcher of kernels/multinomial.cu. Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

size_t multinomial_workspace_bytes(int64_t R, int64_t n);
// out [R, S] int64: S draws per row of weights [R, n] (contiguous floating)
// by functors/multinomial.h from Philox numbers (seed, offset), draw
// r * S + s using element r * S + s, the CPU's numbering and arithmetic. A
// bad row (see functors::multinomial_row_ok) gets 0s; errors (device int64
// [2], zero on entry) = (number of bad rows, the first bad row).
void launch_multinomial(const void* weights, int64_t* out, int64_t* errors, void* workspace, DType dtype, int64_t R,
                        int64_t n, int64_t S, bool replacement, uint64_t seed, uint64_t offset, cudaStream_t stream);

}  // namespace kiln::kernels
