// Gradient clipping, as torch.nn.utils.clip_grad_norm_ / clip_grad_value_.
#pragma once
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::optim {

// Scales the gradients of `params` in place so that their total norm (the
// norm of all gradients taken as one vector) is at most max_norm, and returns
// the total norm before clipping. norm_type may be INFINITY (max |g|).
// Parameters without a gradient are skipped. With error_if_nonfinite a NaN or
// infinite total norm throws ValueError instead of scaling.
double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);
// Clamps every gradient element into [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& params, double clip_value);

}  // namespace kiln::optim
