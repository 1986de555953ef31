// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once
#include <initializer_list>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::optim {

// Scales the gradients of `params` in place so that their total norm (the
// norm of all gradients taken as one vector) is at most max_norm, and returns
// the total norm before clipping, as LibTorch's: every gradient is multiplied
// by min(max_norm / (total + 1e-6), 1). norm_type may be INFINITY (max |g|).
// Parameters without a gradient are skipped. The total is read to the host
// once per device (the 2-norm is one fused reduction, multi_tensor_norm).
// A NaN total (a NaN in any gradient) makes the gradients NaN and an
// infinite one scales them by 0, unless error_if_nonfinite, which throws
// ValueError and leaves them as they are.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
double clip_grad_norm_(std::initializer_list<Tensor> params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
double clip_grad_norm_(const Tensor& param, double max_norm, double norm_type = 2.0, bool error_if_nonfinite = false);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);
void clip_grad_value_(std::initializer_list<Tensor> params, double clip_value);
void clip_grad_value_(const Tensor& param, double clip_value);

}  // namespace kiln::optim
