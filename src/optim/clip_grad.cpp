// Gradient clipping. The total norm is read to the host once per device: the
// 2-norm of every gradient on a device is one fused reduction
// (kiln::multi_tensor_norm, summed in double), other orders stack the
// per-gradient norms on the device and take their norm there.
#include "kiln/optim/clip_grad.h"

#include <cmath>
#include <limits>

#include "kiln/core/grad_mode.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln::optim {

namespace {

// The norm of order p of `grads` (one device) taken as one vector, computed
// on their device: a 0-dim float64 tensor. NaN and inf propagate as in
// PyTorch (a NaN anywhere gives NaN; otherwise an inf gives inf).
Tensor total_norm_on_device(const std::vector<Tensor>& grads, double p) {
  std::vector<Tensor> norms;
  norms.reserve(grads.size());
  for (const Tensor& g : grads) {
    Tensor a = is_low_precision(g.dtype()) ? g.to(kFloat32) : g;
    norms.push_back(norm(a, p).to(kFloat64));
  }
  return norm(stack(norms), p);
}

// The total norm of order p of `grads` (one device) read to the host.
double total_norm(const std::vector<Tensor>& grads, double p) {
  if (p != 2.0) return total_norm_on_device(grads, p).item<double>();
  // Row i of multi_tensor_norm: the 2-norm of grads[i]'s finite elements and
  // its count of NaN/inf elements. Both totals come back in one copy.
  const Tensor rows = multi_tensor_norm(grads);
  const Tensor sums = stack({rows.select(1, 0).square().sum(), rows.select(1, 1).sum()});
  const std::vector<double> host = sums.to_vector<double>();
  if (host[1] == 0) return std::sqrt(host[0]);
  // A NaN or inf element: the plain reduction tells NaN from inf (a second read, only then).
  return total_norm_on_device(grads, p).item<double>();
}

}  // namespace

double clip_grad_norm_(const std::vector<Tensor>& params, double max_norm, double norm_type, bool error_if_nonfinite) {
  KILN_CHECK(norm_type > 0, ValueError, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
  NoGradGuard no_grad;
  // The gradients by device, devices in order of first appearance; empty gradients add nothing.
  std::vector<std::vector<Tensor>> by_device;
  std::vector<Tensor> all;
  for (const auto& p : params) {
    if (!p.defined() || !p.grad().defined()) continue;
    const Tensor g = p.grad();
    all.push_back(g);
    if (g.numel() == 0) continue;
    size_t i = 0;
    while (i < by_device.size() && by_device[i].front().device() != g.device()) ++i;
    if (i == by_device.size()) by_device.emplace_back();
    by_device[i].push_back(g.detach());
  }
  if (all.empty()) return 0.0;
  // One device (the usual case) gives the total directly; several combine on the host.
  const bool inf_norm = std::isinf(norm_type);
  double total = 0;
  if (by_device.size() == 1) {
    total = total_norm(by_device.front(), norm_type);
  } else {
    for (const auto& grads : by_device) {
      const double t = total_norm(grads, norm_type);
      total = std::isnan(t) || std::isnan(total) ? std::numeric_limits<double>::quiet_NaN()
              : inf_norm                          ? std::max(total, t)
                                                  : total + std::pow(t, norm_type);
    }
    if (!inf_norm) total = std::pow(total, 1.0 / norm_type);
  }
  KILN_CHECK(!error_if_nonfinite || std::isfinite(total), ValueError, "clip_grad_norm_: the total norm of order ",
             norm_type, " of the gradients is non-finite (", total,
             "), so it cannot be clipped; pass error_if_nonfinite=false to scale the gradients by it anyway");
  // As PyTorch: scale by min(max_norm / (total + 1e-6), 1), so a NaN total
  // makes every gradient NaN and an infinite one scales them by 0.
  const double coef = max_norm / (total + 1e-6);
  if (!(coef >= 1.0))
    for (auto& g : all) g.mul_(coef);
  return total;
}

double clip_grad_norm_(std::initializer_list<Tensor> params, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>(params), max_norm, norm_type, error_if_nonfinite);
}

double clip_grad_norm_(const Tensor& param, double max_norm, double norm_type, bool error_if_nonfinite) {
  return clip_grad_norm_(std::vector<Tensor>{param}, max_norm, norm_type, error_if_nonfinite);
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

void clip_grad_value_(std::initializer_list<Tensor> params, double clip_value) {
  clip_grad_value_(std::vector<Tensor>(params), clip_value);
}

void clip_grad_value_(const Tensor& param, double clip_value) { clip_grad_value_(std::vector<Tensor>{param}, clip_value); }

}  // namespace kiln::optim
