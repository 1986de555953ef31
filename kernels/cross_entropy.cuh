// Launchers of the fused cross-entropy kernels (kernels/cross_entropy.cu). Plain C++.
// Status: compiled, not yet run on a GPU.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// logits [rows, C] and target [rows] (int64, in [0, C) or == ignore_index)
// contiguous. losses [rows] (logits' dtype) = (1-eps)*(lse - x_t) +
// eps*(lse - mean x), 0 for ignored rows; lse [rows] (f32, f64 for f64
// logits) = logsumexp of the row. Floating dtypes.
void launch_cross_entropy_forward(const void* logits, const int64_t* target, void* losses, void* lse, DType dtype,
                                  int64_t rows, int64_t C, int64_t ignore_index, double label_smoothing,
                                  cudaStream_t stream);
// grad_logits [rows, C] (overwritten) = grad_losses[n] * (exp(x - lse[n]) -
// (1-eps)*[c == t_n] - eps/C), 0 for ignored rows. All contiguous.
void launch_cross_entropy_backward(const void* grad_losses, const void* logits, const int64_t* target,
                                   const void* lse, void* grad_logits, DType dtype, int64_t rows, int64_t C,
                                   int64_t ignore_index, double label_smoothing, cudaStream_t stream);

}  // namespace kiln::kernels
