// layer_norm and rms_norm: normalisation over trailing dims, one fused
// primitive per device with a fused backward. The input is seen as [R, n]
// (n = the product of normalized_shape); the statistics are f32 (f64 for
// f64 input) whatever the input dtype.
#include <cmath>
#include <limits>

#include "autograd/derivatives/layer_norm.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/transformer.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

Tensor norm_impl(const char* op, bool rms, const Tensor& input, const Shape& normalized_shape, const Tensor& weight,
                 const Tensor& bias, double eps) {
  detail::check_defined(op, input);
  detail::check_floating(op, input);
  detail::check_same_device(op, {&input, &weight, &bias});
  const int64_t nd = static_cast<int64_t>(normalized_shape.size());
  KILN_CHECK(nd >= 1, ValueError, op, ": normalized_shape must name at least one dim, got []");
  bool trailing = input.dim() >= nd;
  for (int64_t i = 0; trailing && i < nd; ++i) trailing = input.size(input.dim() - nd + i) == normalized_shape[i];
  KILN_CHECK(trailing, ShapeError, op, ": normalized_shape ", shape_str(normalized_shape),
             " must equal the last dims of input ", detail::describe(input));
  auto check_param = [&](const Tensor& t, const char* name) {
    if (!t.defined()) return;
    KILN_CHECK(t.sizes() == normalized_shape, ShapeError, op, ": ", name, " shape ", shape_str(t.sizes()),
               " must equal normalized_shape ", shape_str(normalized_shape), " (input ", detail::describe(input), ")");
    KILN_CHECK(t.dtype() == input.dtype(), DTypeError, op, ": ", name, " ", detail::describe(t),
               " must have the input's dtype ", input.dtype());
  };
  check_param(weight, "weight");
  check_param(bias, "bias");
  KILN_CHECK(eps >= 0 && std::isfinite(eps), ValueError, op, ": eps must be finite and >= 0, got ", eps);

  int64_t n = 1;
  for (int64_t s : normalized_shape) n *= s;
  const int64_t rows = n > 0 ? input.numel() / n : 0;
  Tensor x = input.detach().contiguous().reshape({rows, n});
  Tensor w = weight.defined() ? weight.detach().contiguous().reshape({n}) : Tensor();
  Tensor b = bias.defined() ? bias.detach().contiguous().reshape({n}) : Tensor();
  const DType stat_dtype = x.dtype() == kFloat64 ? kFloat64 : kFloat32;
  Tensor out = detail::make_empty({rows, n}, x.dtype(), x.device());
  Tensor mean = rms ? Tensor() : detail::make_empty({rows}, stat_dtype, x.device());
  Tensor rstd = detail::make_empty({rows}, stat_dtype, x.device());
  if (out.numel() > 0) detail::backend_of(x).layer_norm_forward(x, w, b, eps, rms, out, mean, rstd);
  out = out.reshape(input.sizes());
  if (autograd::needs_grad({&input, &weight, &bias})) {
    auto node = std::make_shared<autograd::LayerNormBackward>();
    node->input = autograd::SavedTensor(x);
    if (w.defined()) node->weight = autograd::SavedTensor(w);
    if (!rms) node->mean = autograd::SavedTensor(mean);
    node->rstd = autograd::SavedTensor(rstd);
    node->input_sizes = input.sizes();
    node->param_sizes = normalized_shape;
    node->rms = rms;
    node->has_weight = weight.defined();
    node->has_bias = bias.defined();
    std::vector<Tensor> inputs{input};
    if (weight.defined()) inputs.push_back(weight);
    if (bias.defined()) inputs.push_back(bias);
    autograd::set_history(out, node, inputs);
  }
  return out;
}

double machine_epsilon(DType t) {
  switch (t) {
    case DType::Float16: return 0.0009765625;    // 2^-10
    case DType::BFloat16: return 0.0078125;      // 2^-7
    case DType::Float64: return std::numeric_limits<double>::epsilon();
    default: return std::numeric_limits<float>::epsilon();
  }
}

}  // namespace

Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, const Tensor& bias,
                  double eps) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x, &weight, &bias}))
    return layer_norm(c[0], normalized_shape, c[1], c[2], eps);
  return norm_impl("layer_norm", false, x, normalized_shape, weight, bias, eps);
}

Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight, std::optional<double> eps) {
  // Before eps defaults to the machine epsilon of x's dtype: f32's under autocast.
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x, &weight}))
    return rms_norm(c[0], normalized_shape, c[1], eps);
  detail::check_defined("rms_norm", x);
  return norm_impl("rms_norm", true, x, normalized_shape, weight, Tensor(), eps ? *eps : machine_epsilon(x.dtype()));
}

}  // namespace kiln
