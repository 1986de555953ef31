#include "autograd/derivatives/elementwise.h"

#include <cmath>

#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "ops/elementwise_internal.h"
#include "ops/op_util.h"

namespace kiln::autograd {

using detail::sum_to;

std::vector<Tensor> AddBackward::apply(const Tensor& grad) {
  return {needs_input_grad(0) ? sum_to(grad, a_sizes) : Tensor(), needs_input_grad(1) ? sum_to(grad, b_sizes) : Tensor()};
}

std::vector<Tensor> SubBackward::apply(const Tensor& grad) {
  return {needs_input_grad(0) ? sum_to(grad, a_sizes) : Tensor(),
          needs_input_grad(1) ? sum_to(-grad, b_sizes) : Tensor()};
}

std::vector<Tensor> MulBackward::apply(const Tensor& grad) {
  Tensor ga, gb;
  if (needs_input_grad(0)) ga = sum_to(grad * b.unpack(*this), a_sizes);
  if (needs_input_grad(1)) gb = sum_to(grad * a.unpack(*this), b_sizes);
  return {ga, gb};
}

std::vector<Tensor> DivBackward::apply(const Tensor& grad) {
  Tensor bv = b.unpack(*this);
  Tensor ga, gb;
  if (needs_input_grad(0)) ga = sum_to(grad / bv, a_sizes);
  if (needs_input_grad(1)) gb = sum_to(-grad * a.unpack(*this) / (bv * bv), b_sizes);
  return {ga, gb};
}

std::vector<Tensor> PowBackward::apply(const Tensor& grad) {
  Tensor x = base.unpack(*this), e = exponent.unpack(*this);
  Tensor gx, ge;
  if (needs_input_grad(0)) gx = sum_to(grad * e * pow(x, e - 1), a_sizes);
  if (needs_input_grad(1)) {
    // d/de x^e = x^e log x; defined as 0 where x == 0 (the limit for e > 0).
    Tensor r = result.unpack(*this);
    Tensor logx = where(x == 0, zeros_like(x), log(x));
    ge = sum_to(grad * r * logx, b_sizes);
  }
  return {gx, ge};
}

std::vector<Tensor> PowScalarBackward::apply(const Tensor& grad) {
  Tensor x = base.unpack(*this);
  if (exponent == 0) return {zeros_like(grad)};
  return {grad * exponent * pow(x, exponent - 1)};
}

std::vector<Tensor> MaxMinBackward::apply(const Tensor& grad) {
  Tensor av = a.unpack(*this), bv = b.unpack(*this);
  Tensor a_wins = (is_max ? gt(av, bv) : lt(av, bv)).to(grad.dtype());
  Tensor tie = eq(av, bv).to(grad.dtype()) * 0.5;
  Tensor ga, gb;
  if (needs_input_grad(0)) ga = sum_to(grad * (a_wins + tie), a_sizes);
  if (needs_input_grad(1)) gb = sum_to(grad * (1 - a_wins - tie), b_sizes);
  return {ga, gb};
}

std::vector<Tensor> WhereBackward::apply(const Tensor& grad) {
  Tensor c = condition.unpack(*this);
  Tensor zero = zeros({}, grad.options());
  Tensor ga, gb;
  if (needs_input_grad(0)) ga = sum_to(where(c, grad, zero), a_sizes);
  if (needs_input_grad(1)) gb = sum_to(where(c, zero, grad), b_sizes);
  return {ga, gb};
}

std::vector<Tensor> ClampBackward::apply(const Tensor& grad) {
  Tensor xv = x.unpack(*this);
  Tensor mask = ones_like(xv).to(kBool);
  if (min) mask = detail::logical_and(mask, xv >= *min);
  if (max) mask = detail::logical_and(mask, xv <= *max);
  return {where(mask, grad, zeros({}, grad.options()))};
}

std::vector<Tensor> NegBackward::apply(const Tensor& grad) { return {-grad}; }

std::string UnaryBackward::name() const {
  switch (kind) {
    case Kind::Abs: return "AbsBackward";
    case Kind::Exp: return "ExpBackward";
    case Kind::Log: return "LogBackward";
    case Kind::Sqrt: return "SqrtBackward";
    case Kind::Rsqrt: return "RsqrtBackward";
    case Kind::Tanh: return "TanhBackward";
    case Kind::Sigmoid: return "SigmoidBackward";
    case Kind::Relu: return "ReluBackward";
    case Kind::GeluErf: return "GeluBackward";
    case Kind::GeluTanh: return "GeluTanhBackward";
    case Kind::Silu: return "SiluBackward";
    case Kind::Sin: return "SinBackward";
    case Kind::Cos: return "CosBackward";
  }
  return "UnaryBackward";
}

std::vector<Tensor> UnaryBackward::apply(const Tensor& grad) {
  using detail::BinaryOp;
  Tensor s = saved.unpack(*this);
  switch (kind) {
    case Kind::Abs: return {grad * detail::sign(s)};
    case Kind::Exp: return {grad * s};                  // saved = exp(x)
    case Kind::Log: return {grad / s};                  // saved = x
    case Kind::Sqrt: return {grad / (2 * s)};           // saved = sqrt(x)
    case Kind::Rsqrt: return {grad * -0.5 * s * s * s};  // saved = rsqrt(x)
    case Kind::Tanh: return {detail::binary_same(BinaryOp::TanhBackward, grad, s)};
    case Kind::Sigmoid: return {detail::binary_same(BinaryOp::SigmoidBackward, grad, s)};
    case Kind::Relu: return {detail::binary_same(BinaryOp::ReluBackward, grad, s)};
    case Kind::GeluErf: return {detail::binary_same(BinaryOp::GeluErfBackward, grad, s)};
    case Kind::GeluTanh: return {detail::binary_same(BinaryOp::GeluTanhBackward, grad, s)};
    case Kind::Silu: return {detail::binary_same(BinaryOp::SiluBackward, grad, s)};
    case Kind::Sin: return {grad * kiln::cos(s)};   // saved = x
    case Kind::Cos: return {grad * -kiln::sin(s)};  // saved = x
  }
  return {Tensor()};
}

}  // namespace kiln::autograd
