// Launcher of the batch-norm kernels that cuDNN does not provide
// (kernels/batch_norm.cu). Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// Backward of batch norm in eval mode, where mean and invstd are constants
// (the running statistics), over x/gy [N, C, HW] contiguous of `dtype`:
//   gx = gy * invstd[c] * weight[c]
//   gw[c] = sum_{n,hw} gy * (x - mean[c]) * invstd[c],   gb[c] = sum_{n,hw} gy
// weight, mean, invstd, gw, gb are per-channel vectors of `param_dtype`
// (float32 for f32/f16/bf16 x, float64 for f64 x). weight null means 1;
// each null output is skipped; outputs are overwritten.
void launch_batch_norm_eval_bwd(const void* gy, const void* x, const void* weight, const void* mean,
                                const void* invstd, void* gx, void* gw, void* gb, DType dtype, int64_t N,
                                int64_t C, int64_t HW, cudaStream_t stream);

}  // namespace kiln::kernels
