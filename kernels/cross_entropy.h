// Launchers of the fused cross-entropy kernels (kernels/cross_entropy.cu). Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// logits [rows, C] and target [rows] (int64, in [0, C) or == ignore_index)
// contiguous. losses [rows] (logits' dtype) = (1-eps)*(lse - x_t) +
// eps*(lse - mean x), 0 for ignored rows; lse [rows] (f32, f64 for f64
// logits) = logsumexp of the row. Floating dtypes. A target out of range
// gets a NaN loss and adds 1 to target_errors[0] (device int64 [2]),
// target_errors[1] = that target.
void launch_cross_entropy_fwd(const void* logits, const int64_t* target, void* losses, void* lse,
                              int64_t* target_errors, DType dtype, int64_t rows, int64_t C, int64_t ignore_index,
                              double label_smoothing, cudaStream_t stream);
// grad_logits [rows, C] (overwritten) = grad_losses[n] * (exp(x - lse[n]) -
// (1-eps)*[c == t_n] - eps/C), 0 for ignored rows. All contiguous.
void launch_cross_entropy_bwd(const void* grad_losses, const void* logits, const int64_t* target,
                              const void* lse, void* grad_logits, DType dtype, int64_t rows, int64_t C,
                              int64_t ignore_index, double label_smoothing, cudaStream_t stream);

}  // namespace kiln::kernels
