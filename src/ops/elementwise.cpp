// Elementwise ops: unary, binary with broadcasting and type promotion,
// comparisons, where, clamp, and their in-place forms.
#include <cmath>
#include <limits>

#include "autograd/derivatives/elementwise.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/elementwise_internal.h"
#include "ops/inplace.h"
#include "ops/op_util.h"

namespace kiln {

using autograd::UnaryBackward;
using detail::BinaryOp;
using detail::UnaryOp;
using detail::UnaryParams;

namespace {

int category(DType t) { return t == kBool ? 0 : (is_floating(t) ? 2 : 1); }

// Result of a binary op on a and b, computed in `compute` (out: compute or bool).
Tensor binary_kernel(const char* name, BinaryOp op, const Tensor& a, const Tensor& b, DType compute) {
  detail::check_defined(name, a, "first input");
  detail::check_defined(name, b, "second input");
  detail::check_same_device(name, {&a, &b});
  detail::check_computable(name, a);
  detail::check_computable(name, b);
  Shape out_shape = broadcast_shapes(a.sizes(), b.sizes(), name);
  const bool to_bool = detail::is_comparison(op) || op == BinaryOp::LogicalAnd || op == BinaryOp::LogicalOr;
  Tensor out = detail::make_empty(out_shape, to_bool ? kBool : compute, a.device());
  if (out.numel() == 0) return out;
  NoGradGuard no_grad;
  Tensor ac = a.detach().to(compute).expand(out_shape);
  Tensor bc = b.detach().to(compute).expand(out_shape);
  detail::backend_of(out).binary(op, ac, bc, out);
  return out;
}

Tensor unary_kernel(const char* name, UnaryOp op, const Tensor& x, DType compute, UnaryParams params = {}) {
  detail::check_defined(name, x);
  detail::check_computable(name, x);
  Tensor out = detail::make_empty(x.sizes(), compute, x.device());
  if (out.numel() == 0) return out;
  NoGradGuard no_grad;
  detail::backend_of(out).unary(op, x.detach().to(compute), out, params);
  return out;
}

// result_type after checking both operands exist, so the error names the op.
DType checked_result_type(const char* name, const Tensor& a, const Tensor& b) {
  detail::check_defined(name, a, "first input");
  detail::check_defined(name, b, "second input");
  detail::check_computable(name, a);
  detail::check_computable(name, b);
  return result_type(a, b);
}

// Floating ops on integer input compute in float32, like PyTorch.
DType float_compute(const Tensor& x) { return is_floating(x.dtype()) ? x.dtype() : kFloat32; }

Tensor make_unary(const char* name, UnaryOp op, UnaryBackward::Kind kind, const Tensor& x, bool save_output) {
  Tensor out = unary_kernel(name, op, x, float_compute(x));
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<UnaryBackward>();
    node->kind = kind;
    node->saved = autograd::SavedTensor(save_output ? out : x);
    autograd::set_history(out, node, {&x});
  }
  return out;
}

template <class NodeT>
std::shared_ptr<NodeT> binary_node(const Tensor& a, const Tensor& b) {
  auto node = std::make_shared<NodeT>();
  node->a_sizes = a.sizes();
  node->b_sizes = b.sizes();
  return node;
}

void check_differentiable_dtype(const char* name, DType compute, const Tensor& a, const Tensor& b) {
  KILN_CHECK(!autograd::needs_grad({&a, &b}) || is_floating(compute), DTypeError, name,
             ": cannot differentiate through integer result type ", compute);
}

}  // namespace

namespace detail {

bool is_comparison(BinaryOp op) {
  return op == BinaryOp::Eq || op == BinaryOp::Ne || op == BinaryOp::Lt || op == BinaryOp::Le ||
         op == BinaryOp::Gt || op == BinaryOp::Ge;
}

Tensor binary_same(BinaryOp op, const Tensor& a, const Tensor& b) {
  return binary_kernel("binary", op, a, b, a.dtype());
}
Tensor sign(const Tensor& x) { return unary_kernel("sign", UnaryOp::Sign, x, x.dtype()); }
Tensor logical_and(const Tensor& a, const Tensor& b) { return binary_kernel("logical_and", BinaryOp::LogicalAnd, a, b, kBool); }
Tensor logical_or(const Tensor& a, const Tensor& b) { return binary_kernel("logical_or", BinaryOp::LogicalOr, a, b, kBool); }
Tensor logical_not(const Tensor& a) { return unary_kernel("logical_not", UnaryOp::LogicalNot, a.to(kBool), kBool); }

DType result_type(const Tensor& t, const Scalar& s) {
  const int sc = s.is_floating() ? 2 : (s.kind() == Scalar::Kind::Bool ? 0 : 1);
  if (sc <= category(t.dtype())) return t.dtype();
  return sc == 2 ? kFloat32 : kInt64;
}

}  // namespace detail

DType result_type(const Tensor& a, const Tensor& b) {
  const bool da = a.dim() > 0, db = b.dim() > 0;
  if (da == db) return promote_types(a.dtype(), b.dtype());
  const Tensor& dimmed = da ? a : b;
  const Tensor& zero = da ? b : a;
  return category(zero.dtype()) > category(dimmed.dtype()) ? zero.dtype() : dimmed.dtype();
}

// --- binary arithmetic ------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  checked_result_type("add", a, b);
  if (!(alpha.is_integral() && alpha.to_int() == 1)) return add(a, mul(b, scalar_tensor(alpha, b.options().dtype(detail::result_type(b, alpha)))));
  const DType compute = checked_result_type("add", a, b);
  check_differentiable_dtype("add", compute, a, b);
  Tensor out = binary_kernel("add", BinaryOp::Add, a, b, compute);
  if (autograd::needs_grad({&a, &b})) autograd::set_history(out, binary_node<autograd::AddBackward>(a, b), {&a, &b});
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha) {
  checked_result_type("sub", a, b);
  // PyTorch refuses a bool operand on either side (true - x has no clear meaning).
  KILN_CHECK(a.dtype() != kBool || b.dtype() != kBool, DTypeError,
             "sub: Subtraction, the `-` operator, with two bool tensors is not supported; use logical_xor instead");
  KILN_CHECK(a.dtype() != kBool && b.dtype() != kBool, DTypeError,
             "sub: Subtraction, the `-` operator, with a bool tensor is not supported (", detail::describe(a), " - ",
             detail::describe(b), "); to invert a mask use logical_not");
  if (!(alpha.is_integral() && alpha.to_int() == 1)) return sub(a, mul(b, scalar_tensor(alpha, b.options().dtype(detail::result_type(b, alpha)))));
  const DType compute = checked_result_type("sub", a, b);
  check_differentiable_dtype("sub", compute, a, b);
  Tensor out = binary_kernel("sub", BinaryOp::Sub, a, b, compute);
  if (autograd::needs_grad({&a, &b})) autograd::set_history(out, binary_node<autograd::SubBackward>(a, b), {&a, &b});
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  const DType compute = checked_result_type("mul", a, b);
  check_differentiable_dtype("mul", compute, a, b);
  Tensor out = binary_kernel("mul", BinaryOp::Mul, a, b, compute);
  if (autograd::needs_grad({&a, &b})) {
    auto node = binary_node<autograd::MulBackward>(a, b);
    if (b.requires_grad()) node->a = autograd::SavedTensor(a);
    if (a.requires_grad()) node->b = autograd::SavedTensor(b);
    autograd::set_history(out, node, {&a, &b});
  }
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  DType compute = checked_result_type("div", a, b);
  if (!is_floating(compute)) compute = kFloat32;  // true division
  Tensor out = binary_kernel("div", BinaryOp::Div, a, b, compute);
  if (autograd::needs_grad({&a, &b})) {
    auto node = binary_node<autograd::DivBackward>(a, b);
    if (b.requires_grad()) node->a = autograd::SavedTensor(a);
    node->b = autograd::SavedTensor(b);
    autograd::set_history(out, node, {&a, &b});
  }
  return out;
}

Tensor pow(const Tensor& base, const Tensor& exponent) {
  const DType compute = checked_result_type("pow", base, exponent);
  check_differentiable_dtype("pow", compute, base, exponent);
  Tensor out = binary_kernel("pow", BinaryOp::Pow, base, exponent, compute);
  if (autograd::needs_grad({&base, &exponent})) {
    auto node = binary_node<autograd::PowBackward>(base, exponent);
    node->base = autograd::SavedTensor(base);
    node->exponent = autograd::SavedTensor(exponent);
    if (exponent.requires_grad()) node->result = autograd::SavedTensor(out);
    autograd::set_history(out, node, {&base, &exponent});
  }
  return out;
}

Tensor pow(const Tensor& base, const Scalar& exponent) {
  detail::check_defined("pow", base);
  DType compute = detail::result_type(base, exponent);
  if (exponent.is_integral() && exponent.to_int() < 0 && !is_floating(compute)) {
    KILN_CHECK(false, ValueError, "pow: integers to negative integer powers are not allowed (base ",
               detail::describe(base), ", exponent ", exponent.to_int(), ")");
  }
  Tensor out = unary_kernel("pow", UnaryOp::PowScalar, base, compute, UnaryParams{exponent.to_double(), 0});
  if (autograd::needs_grad({&base})) {
    auto node = std::make_shared<autograd::PowScalarBackward>();
    node->base = autograd::SavedTensor(base);
    node->exponent = exponent.to_double();
    autograd::set_history(out, node, {&base});
  }
  return out;
}

Tensor pow(const Scalar& base, const Tensor& exponent) {
  return pow(scalar_tensor(base, exponent.options().dtype(detail::result_type(exponent, base))), exponent);
}

static Tensor max_min(const char* name, BinaryOp op, bool is_max, const Tensor& a, const Tensor& b) {
  const DType compute = checked_result_type(name, a, b);
  check_differentiable_dtype(name, compute, a, b);
  Tensor out = binary_kernel(name, op, a, b, compute);
  if (autograd::needs_grad({&a, &b})) {
    auto node = binary_node<autograd::MaxMinBackward>(a, b);
    node->is_max = is_max;
    node->a = autograd::SavedTensor(a);
    node->b = autograd::SavedTensor(b);
    autograd::set_history(out, node, {&a, &b});
  }
  return out;
}
Tensor maximum(const Tensor& a, const Tensor& b) { return max_min("maximum", BinaryOp::Maximum, true, a, b); }
Tensor minimum(const Tensor& a, const Tensor& b) { return max_min("minimum", BinaryOp::Minimum, false, a, b); }

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  detail::check_defined("where", condition, "condition");
  detail::check_defined("where", a, "first input");
  detail::check_defined("where", b, "second input");
  detail::check_same_device("where", {&condition, &a, &b});
  KILN_CHECK(condition.dtype() == kBool, DTypeError, "where: condition must be bool, got ",
             detail::describe(condition));
  const DType compute = checked_result_type("where", a, b);
  Shape shape = broadcast_shapes(broadcast_shapes(condition.sizes(), a.sizes(), "where"), b.sizes(), "where");
  Tensor out = detail::make_empty(shape, compute, a.device());
  if (out.numel() > 0) {
    NoGradGuard no_grad;
    detail::backend_of(out).where(condition.expand(shape), a.detach().to(compute).expand(shape),
                                  b.detach().to(compute).expand(shape), out);
  }
  if (autograd::needs_grad({&a, &b})) {
    auto node = binary_node<autograd::WhereBackward>(a, b);
    node->condition = autograd::SavedTensor(condition);
    autograd::set_history(out, node, {&a, &b});
  }
  return out;
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max) {
  detail::check_defined("clamp", x);
  KILN_CHECK(min || max, ValueError, "clamp: at least one of min and max must be given");
  DType compute = x.dtype();
  if (min) compute = promote_types(compute, detail::result_type(x, *min));
  if (max) compute = promote_types(compute, detail::result_type(x, *max));
  const double inf = std::numeric_limits<double>::infinity();
  UnaryParams p{min ? min->to_double() : -inf, max ? max->to_double() : inf};
  Tensor out = unary_kernel("clamp", UnaryOp::Clamp, x, compute, p);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::ClampBackward>();
    node->x = autograd::SavedTensor(x);
    if (min) node->min = min->to_double();
    if (max) node->max = max->to_double();
    autograd::set_history(out, node, {&x});
  }
  return out;
}

// --- unary --------------------------------------------------------------------------
Tensor neg(const Tensor& x) {
  detail::check_defined("neg", x);
  KILN_CHECK(x.dtype() != kBool, DTypeError, "neg: negation of a bool tensor is not supported; use logical_not");
  Tensor out = unary_kernel("neg", UnaryOp::Neg, x, x.dtype());
  if (autograd::needs_grad({&x})) autograd::set_history(out, std::make_shared<autograd::NegBackward>(), {&x});
  return out;
}

Tensor abs(const Tensor& x) {
  detail::check_defined("abs", x);
  Tensor out = unary_kernel("abs", UnaryOp::Abs, x, x.dtype());
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<UnaryBackward>();
    node->kind = UnaryBackward::Kind::Abs;
    node->saved = autograd::SavedTensor(x);
    autograd::set_history(out, node, {&x});
  }
  return out;
}

Tensor relu(const Tensor& x) {
  detail::check_defined("relu", x);
  KILN_CHECK(x.dtype() != kBool, DTypeError, "relu: not defined for bool tensors");
  Tensor out = unary_kernel("relu", UnaryOp::Relu, x, x.dtype());
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<UnaryBackward>();
    node->kind = UnaryBackward::Kind::Relu;
    node->saved = autograd::SavedTensor(out);  // relu'(x) = [out > 0]
    autograd::set_history(out, node, {&x});
  }
  return out;
}

Tensor exp(const Tensor& x) { return make_unary("exp", UnaryOp::Exp, UnaryBackward::Kind::Exp, x, true); }
Tensor log(const Tensor& x) { return make_unary("log", UnaryOp::Log, UnaryBackward::Kind::Log, x, false); }
Tensor sqrt(const Tensor& x) { return make_unary("sqrt", UnaryOp::Sqrt, UnaryBackward::Kind::Sqrt, x, true); }
Tensor rsqrt(const Tensor& x) { return make_unary("rsqrt", UnaryOp::Rsqrt, UnaryBackward::Kind::Rsqrt, x, true); }
Tensor tanh(const Tensor& x) { return make_unary("tanh", UnaryOp::Tanh, UnaryBackward::Kind::Tanh, x, true); }
Tensor sigmoid(const Tensor& x) {
  return make_unary("sigmoid", UnaryOp::Sigmoid, UnaryBackward::Kind::Sigmoid, x, true);
}
Tensor sin(const Tensor& x) { return make_unary("sin", UnaryOp::Sin, UnaryBackward::Kind::Sin, x, false); }
Tensor cos(const Tensor& x) { return make_unary("cos", UnaryOp::Cos, UnaryBackward::Kind::Cos, x, false); }
Tensor silu(const Tensor& x) { return make_unary("silu", UnaryOp::Silu, UnaryBackward::Kind::Silu, x, false); }
Tensor gelu(const Tensor& x, const std::string& approximate) {
  KILN_CHECK(approximate == "none" || approximate == "tanh", ValueError, "gelu: approximate must be \"none\" or ",
             "\"tanh\", got \"", approximate, "\"");
  if (approximate == "tanh") return make_unary("gelu", UnaryOp::GeluTanh, UnaryBackward::Kind::GeluTanh, x, false);
  return make_unary("gelu", UnaryOp::GeluErf, UnaryBackward::Kind::GeluErf, x, false);
}

// --- comparisons ----------------------------------------------------------------------
static Tensor compare(const char* name, BinaryOp op, const Tensor& a, const Tensor& b) {
  return binary_kernel(name, op, a, b, checked_result_type(name, a, b));
}
Tensor eq(const Tensor& a, const Tensor& b) { return compare("eq", BinaryOp::Eq, a, b); }
Tensor ne(const Tensor& a, const Tensor& b) { return compare("ne", BinaryOp::Ne, a, b); }
Tensor lt(const Tensor& a, const Tensor& b) { return compare("lt", BinaryOp::Lt, a, b); }
Tensor le(const Tensor& a, const Tensor& b) { return compare("le", BinaryOp::Le, a, b); }
Tensor gt(const Tensor& a, const Tensor& b) { return compare("gt", BinaryOp::Gt, a, b); }
Tensor ge(const Tensor& a, const Tensor& b) { return compare("ge", BinaryOp::Ge, a, b); }

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  detail::check_same_device("allclose", {&a, &b});
  detail::check_computable("allclose", a);
  detail::check_computable("allclose", b);
  NoGradGuard no_grad;
  Tensor af = a.to(kFloat64), bf = b.to(kFloat64);
  Tensor close = le(abs(af - bf), atol + rtol * abs(bf));
  // Infinities of the same sign are close; the formula gives nan for them.
  close = detail::logical_or(close, eq(af, bf));
  if (equal_nan) close = detail::logical_or(close, detail::logical_and(ne(af, af), ne(bf, bf)));
  return close.numel() == 0 || amin(close.to(kInt32)).item<int>() == 1;
}

bool equal(const Tensor& a, const Tensor& b) {
  if (a.sizes() != b.sizes()) return false;
  if (a.numel() == 0) return true;
  NoGradGuard no_grad;
  return amin(eq(a, b).to(kInt32)).item<int>() == 1;
}

// --- operators ----------------------------------------------------------------------------
namespace {
Tensor wrap(const Scalar& s, const Tensor& like) {
  return scalar_tensor(s, like.options().dtype(detail::result_type(like, s)));
}
}  // namespace

Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
Tensor operator+(const Tensor& a, const Scalar& b) { return add(a, wrap(b, a)); }
Tensor operator-(const Tensor& a, const Scalar& b) { return sub(a, wrap(b, a)); }
Tensor operator*(const Tensor& a, const Scalar& b) { return mul(a, wrap(b, a)); }
Tensor operator/(const Tensor& a, const Scalar& b) { return div(a, wrap(b, a)); }
Tensor operator+(const Scalar& a, const Tensor& b) { return add(wrap(a, b), b); }
Tensor operator-(const Scalar& a, const Tensor& b) { return sub(wrap(a, b), b); }
Tensor operator*(const Scalar& a, const Tensor& b) { return mul(wrap(a, b), b); }
Tensor operator/(const Scalar& a, const Tensor& b) { return div(wrap(a, b), b); }
Tensor operator-(const Tensor& x) { return neg(x); }
Tensor operator==(const Tensor& a, const Tensor& b) { return eq(a, b); }
Tensor operator!=(const Tensor& a, const Tensor& b) { return ne(a, b); }
Tensor operator<(const Tensor& a, const Tensor& b) { return lt(a, b); }
Tensor operator<=(const Tensor& a, const Tensor& b) { return le(a, b); }
Tensor operator>(const Tensor& a, const Tensor& b) { return gt(a, b); }
Tensor operator>=(const Tensor& a, const Tensor& b) { return ge(a, b); }
Tensor operator==(const Tensor& a, const Scalar& b) { return eq(a, wrap(b, a)); }
Tensor operator!=(const Tensor& a, const Scalar& b) { return ne(a, wrap(b, a)); }
Tensor operator<(const Tensor& a, const Scalar& b) { return lt(a, wrap(b, a)); }
Tensor operator<=(const Tensor& a, const Scalar& b) { return le(a, wrap(b, a)); }
Tensor operator>(const Tensor& a, const Scalar& b) { return gt(a, wrap(b, a)); }
Tensor operator>=(const Tensor& a, const Scalar& b) { return ge(a, wrap(b, a)); }

// --- in place ---------------------------------------------------------------------------------
namespace {
// self = op(self, other). Without autograd recording and when the result
// type is self's dtype, the backend writes into self directly; otherwise the
// out-of-place op runs on a copy of self and the result is written back.
Tensor& inplace_binary(const char* name, Tensor& self, const Tensor& other, BinaryOp op,
                       Tensor (*out_of_place)(const Tensor&, const Tensor&)) {
  detail::check_defined(name, self, "self");
  detail::check_defined(name, other, "other");
  detail::check_same_device(name, {&self, &other});
  Shape shape = broadcast_shapes(self.sizes(), other.sizes(), name);
  KILN_CHECK(shape == self.sizes(), ShapeError, name, ": the result shape ", shape_str(shape),
             " does not match self's shape ", shape_str(self.sizes()), " for an in-place op");
  DType rt = result_type(self, other);
  if (op == BinaryOp::Div && !is_floating(rt)) rt = kFloat32;
  KILN_CHECK(category(rt) <= category(self.dtype()), DTypeError, name, ": result type ", rt,
             " can't be cast to the desired output type ", self.dtype(), " (self ", detail::describe(self), ")");
  detail::check_inplace(name, self, {&other});
  const bool record = autograd::needs_grad({&self, &other});
  if (!record) {
    if (self.numel() > 0) {
      NoGradGuard no_grad;
      Tensor o = other.detach().to(self.dtype()).expand(shape);
      detail::backend_of(self).binary(op, self, o, self);
    }
    detail::bump_version(self);
    return self;
  }
  Tensor before = self.clone();  // records CloneBackward to self's history
  Tensor result = out_of_place(before, other);
  {
    NoGradGuard no_grad;
    detail::backend_of(self).copy(result, self);
  }
  detail::bump_version(self);
  auto& meta = self.unsafe_impl()->meta();
  meta.requires_grad = true;
  meta.grad_fn = result.grad_fn();
  meta.output_nr = 0;  // result came from a one-output op
  return self;
}
Tensor add_plain(const Tensor& a, const Tensor& b) { return add(a, b); }
Tensor sub_plain(const Tensor& a, const Tensor& b) { return sub(a, b); }
}  // namespace

Tensor& Tensor::add_(const Tensor& other, const Scalar& alpha) {
  if (alpha.is_integral() && alpha.to_int() == 1) return inplace_binary("add_", *this, other, BinaryOp::Add, add_plain);
  return inplace_binary("add_", *this, kiln::mul(other, scalar_tensor(alpha, other.options().dtype(detail::result_type(other, alpha)))), BinaryOp::Add, add_plain);
}
Tensor& Tensor::sub_(const Tensor& other, const Scalar& alpha) {
  if (alpha.is_integral() && alpha.to_int() == 1) return inplace_binary("sub_", *this, other, BinaryOp::Sub, sub_plain);
  return inplace_binary("sub_", *this, kiln::mul(other, scalar_tensor(alpha, other.options().dtype(detail::result_type(other, alpha)))), BinaryOp::Sub, sub_plain);
}
Tensor& Tensor::mul_(const Tensor& other) { return inplace_binary("mul_", *this, other, BinaryOp::Mul, kiln::mul); }
Tensor& Tensor::div_(const Tensor& other) { return inplace_binary("div_", *this, other, BinaryOp::Div, kiln::div); }

Tensor& Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max) {
  detail::check_inplace("clamp_", *this, {});
  Tensor r = kiln::clamp(autograd::needs_grad({this}) ? clone() : *this, min, max);
  return copy_(r);
}

Tensor& Tensor::zero_() { return fill_(0); }

Tensor& Tensor::fill_(const Scalar& value) {
  detail::check_defined("fill_", *this, "self");
  detail::check_inplace("fill_", *this, {});
  if (numel() > 0) detail::backend_of(*this).fill(*this, value);
  detail::bump_version(*this);
  if (requires_grad() && GradMode::is_enabled()) {
    // The old value no longer matters: the tensor becomes a constant.
    unsafe_impl()->meta().grad_fn = nullptr;
    unsafe_impl()->meta().requires_grad = false;
  }
  return *this;
}

}  // namespace kiln
