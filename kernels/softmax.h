// Launchers of kernels/softmax.cu. Plain C++: device pointers, sizes,
// strides, a dtype and a stream (see kernels/kernels.h for what every
// launcher does).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// x, y contiguous, viewed as [outer, n, inner]; softmax over n.
void launch_softmax_fwd(const void* x, void* y, DType dtype, int64_t outer, int64_t n, int64_t inner, bool log,
                        cudaStream_t stream);
// gx from the forward output y and its gradient gy (all contiguous, same view).
void launch_softmax_bwd(const void* y, const void* gy, void* gx, DType dtype, int64_t outer, int64_t n,
                        int64_t inner, bool log, cudaStream_t stream);

}  // namespace kiln::kernels
