// Gradient clipping. Per-tensor norms are reduced on the gradient's device in
// f32 or f64 (f16/bf16 gradients are widened first); the total is combined in double.
#include "kiln/optim/clip_grad.h"

#include <cmath>

#include "kiln/core/grad_mode.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln::optim {

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  KILN_CHECK(norm_type > 0, ValueError, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const auto& p : params)
    if (p.defined() && p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  const bool inf_norm = std::isinf(norm_type);
  double total = 0;
  for (const auto& g : grads) {
    if (g.numel() == 0) continue;
    Tensor a = g.detach();
    if (is_low_precision(a.dtype())) a = a.to(kFloat32);
    a = a.abs();
    if (inf_norm) {
      total = std::max(total, a.max().item<double>());
    } else if (norm_type == 2.0) {
      total += (a * a).sum().item<double>();
    } else {
      total += a.pow(norm_type).sum().item<double>();
    }
  }
  if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  KILN_CHECK(!error_if_nonfinite || std::isfinite(total), ValueError, "clip_grad_norm_: the total norm of order ",
             norm_type, " of the gradients is ", total, "; pass error_if_nonfinite=false to scale anyway");
  const double coef = max_norm / (total + 1e-6);
  if (coef < 1.0)
    for (auto& g : grads) g.mul_(coef);
  return total;
}

void clip_grad_value_(const std::vector<Tensor>& params, double clip_value) {
  KILN_CHECK(clip_value >= 0, ValueError, "clip_grad_value_: clip_value must be >= 0, got ", clip_value);
  NoGradGuard no_grad;
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    Tensor g = p.grad();
    g.clamp_(-clip_value, clip_value);
  }
}

}  // namespace kiln::optim
