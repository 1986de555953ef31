// batch_norm: per-channel normalisation with running statistics.
// batch_norm_relu: relu(batch_norm(...)) in one op, so the CPU does it in the
// batch norm's passes over memory (the GPU runs the two ops).
#include <cmath>

#include "autograd/derivatives/batch_norm.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

Tensor batch_norm_impl(const char* op, bool relu, const Tensor& input, const Tensor& weight, const Tensor& bias,
                       const Tensor& running_mean, const Tensor& running_var, bool training, double momentum,
                       double eps) {
  // The running statistics are updated in place: they are never cast (a copy
  // would take the update); they are f32 buffers in an f32 model anyway.
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&input, &weight, &bias}))
    return batch_norm_impl(op, relu, c[0], c[1], c[2], running_mean, running_var, training, momentum, eps);
  detail::check_defined(op, input);
  detail::check_floating(op, input);
  detail::check_same_device(op, {&input, &weight, &bias, &running_mean, &running_var});
  KILN_CHECK(input.dim() == 2 || input.dim() == 4, ShapeError, op, ": input must be [N,C] or [N,C,H,W], got ",
             detail::describe(input));
  const int64_t C = input.size(1);
  auto check_vec = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    KILN_CHECK(t.dim() == 1 && t.size(0) == C, ShapeError, op, ": ", name, " ", detail::describe(t),
               " must be [", C, "] (channels of input ", detail::describe(input), ")");
    KILN_CHECK(t.dtype() == input.dtype(), DTypeError, op, ": ", name, " ", detail::describe(t),
               " must have the input's dtype ", input.dtype());
  };
  check_vec(weight, "weight");
  check_vec(bias, "bias");
  check_vec(running_mean, "running_mean");
  check_vec(running_var, "running_var");
  KILN_CHECK(running_mean.defined() == running_var.defined(), ValueError, op,
             ": running_mean and running_var must be both defined or both undefined");
  KILN_CHECK(training || running_mean.defined(), ValueError, op,
             ": eval mode (training=false) needs running_mean and running_var");
  KILN_CHECK(eps > 0 && std::isfinite(eps), ValueError, op, ": eps must be positive, got ", eps);
  KILN_CHECK(momentum >= 0 && momentum <= 1, ValueError, op, ": momentum must be in [0, 1], got ", momentum);
  if (training) {
    const int64_t per_channel = input.numel() / std::max<int64_t>(C, 1);
    KILN_CHECK(per_channel > 1, ValueError, op, ": training needs more than one value per channel, got input ",
               detail::describe(input));
  }

  Tensor x = input.detach().contiguous();
  Tensor w = weight.defined() ? weight.detach().contiguous() : Tensor();
  Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  // The backend always updates running stats in training; without them it
  // updates scratch tensors that are dropped.
  Tensor rm = running_mean.defined() ? running_mean.detach() : zeros({C}, x.options());
  Tensor rv = running_var.defined() ? running_var.detach() : ones({C}, x.options());
  KILN_CHECK(rm.is_contiguous() && rv.is_contiguous(), ValueError, op, ": running statistics must be contiguous");
  Tensor out = detail::make_empty(x.sizes(), x.dtype(), x.device());
  // The statistics the backward reads, in f32 (f64 for f64 input) whatever
  // the input dtype: the batch's, written by the backend in training, or
  // the running ones, computed here in eval mode (the backends only
  // normalise with those).
  const DType stat_dtype = x.dtype() == kFloat64 ? kFloat64 : kFloat32;
  Tensor save_mean, save_invstd;
  if (training) {
    save_mean = detail::make_empty({C}, stat_dtype, x.device());
    save_invstd = detail::make_empty({C}, stat_dtype, x.device());
  } else {
    NoGradGuard no_grad;
    save_mean = rm.to(stat_dtype).contiguous();
    save_invstd = rsqrt(rv.to(stat_dtype) + eps).contiguous();
  }
  detail::backend_of(x).batch_norm_forward(x, w, b, rm, rv, training, momentum, eps, relu, out, save_mean,
                                           save_invstd);
  if (training && running_mean.defined()) {
    detail::bump_version(running_mean);
    detail::bump_version(running_var);
  }

  if (autograd::needs_grad({&input, &weight, &bias})) {
    auto node = std::make_shared<autograd::BatchNormBackward>();
    node->input = autograd::SavedTensor(x);
    if (w.defined()) node->weight = autograd::SavedTensor(w);
    node->save_mean = autograd::SavedTensor(save_mean);
    node->save_invstd = autograd::SavedTensor(save_invstd);
    node->training = training;
    node->eps = eps;
    node->has_weight = weight.defined();
    node->has_bias = bias.defined();
    if (relu) {
      node->relu = true;
      if (b.defined()) node->bias = autograd::SavedTensor(b);
      node->relu_out = autograd::SavedTensor(out);
    }
    std::vector<Tensor> inputs{input};
    if (weight.defined()) inputs.push_back(weight);
    if (bias.defined()) inputs.push_back(bias);
    autograd::set_history(out, node, inputs);
  }
  return out;
}

}  // namespace

Tensor batch_norm(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum, double eps) {
  return batch_norm_impl("batch_norm", false, input, weight, bias, running_mean, running_var, training, momentum,
                         eps);
}

Tensor batch_norm_relu(const Tensor& input, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum, double eps) {
  return batch_norm_impl("batch_norm_relu", true, input, weight, bias, running_mean, running_var, training, momentum,
                         eps);
}

}  // namespace kiln
