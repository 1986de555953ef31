// CPU elementwise kernels: one generic strided map instantiated per functor.
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "functors/elementwise.h"

namespace kiln::cpu {

using detail::BinaryOp;
using detail::UnaryOp;
namespace f = kiln::functors;

namespace {

template <class T, class F>
void unary_map(const Tensor& x, Tensor& out, F fn) {
  map_elements<T, T>(out, {&x}, fn);
}

template <class F>
void unary_floating(const char* name, const Tensor& x, Tensor& out, F fn) {
  visit_floating(x.dtype(), name, [&](auto tag) { unary_map<decltype(tag)>(x, out, fn); });
}

template <class F>
void unary_numeric(const Tensor& x, Tensor& out, F fn) {
  visit_dtype(x.dtype(), [&](auto tag) { unary_map<decltype(tag)>(x, out, fn); });
}

template <class F>
void binary_numeric(const Tensor& a, const Tensor& b, Tensor& out, F fn) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map_elements<T, T, T>(out, {&a, &b}, fn);
  });
}

template <class F>
void binary_floating(const char* name, const Tensor& a, const Tensor& b, Tensor& out, F fn) {
  visit_floating(a.dtype(), name, [&](auto tag) {
    using T = decltype(tag);
    map_elements<T, T, T>(out, {&a, &b}, fn);
  });
}

template <class F>
void compare(const Tensor& a, const Tensor& b, Tensor& out, F fn) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map_elements<bool, T, T>(out, {&a, &b}, fn);
  });
}

}  // namespace

void CpuBackend::unary(UnaryOp op, const Tensor& x, Tensor& out, const detail::UnaryParams& p) {
  switch (op) {
    case UnaryOp::Neg: return unary_numeric(x, out, f::Neg{});
    case UnaryOp::Abs: return unary_numeric(x, out, f::Abs{});
    case UnaryOp::Sign: return unary_numeric(x, out, f::Sign{});
    case UnaryOp::Relu: return unary_numeric(x, out, f::Relu{});
    case UnaryOp::Clamp: return unary_numeric(x, out, f::Clamp{p.a, p.b});
    case UnaryOp::PowScalar: return unary_numeric(x, out, f::PowScalar{p.a});
    case UnaryOp::Exp: return unary_floating("exp", x, out, f::Exp{});
    case UnaryOp::Log: return unary_floating("log", x, out, f::Log{});
    case UnaryOp::Sqrt: return unary_floating("sqrt", x, out, f::Sqrt{});
    case UnaryOp::Rsqrt: return unary_floating("rsqrt", x, out, f::Rsqrt{});
    case UnaryOp::Reciprocal: return unary_floating("reciprocal", x, out, f::Reciprocal{});
    case UnaryOp::Tanh: return unary_floating("tanh", x, out, f::Tanh{});
    case UnaryOp::Sigmoid: return unary_floating("sigmoid", x, out, f::Sigmoid{});
    case UnaryOp::GeluErf: return unary_floating("gelu", x, out, f::GeluErf{});
    case UnaryOp::GeluTanh: return unary_floating("gelu", x, out, f::GeluTanh{});
    case UnaryOp::Silu: return unary_floating("silu", x, out, f::Silu{});
    case UnaryOp::LogicalNot:
      KILN_INTERNAL_ASSERT(x.dtype() == kBool && out.dtype() == kBool, "logical_not expects bool");
      return map_elements<bool, bool>(out, {&x}, f::LogicalNot{});
  }
}

void CpuBackend::binary(BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  switch (op) {
    case BinaryOp::Add: return binary_numeric(a, b, out, f::Add{});
    case BinaryOp::Sub: return binary_numeric(a, b, out, f::Sub{});
    case BinaryOp::Mul: return binary_numeric(a, b, out, f::Mul{});
    case BinaryOp::Div: return binary_floating("div", a, b, out, f::Div{});
    case BinaryOp::Pow: return binary_numeric(a, b, out, f::Pow{});
    case BinaryOp::Maximum: return binary_numeric(a, b, out, f::Maximum{});
    case BinaryOp::Minimum: return binary_numeric(a, b, out, f::Minimum{});
    case BinaryOp::Eq: return compare(a, b, out, f::Eq{});
    case BinaryOp::Ne: return compare(a, b, out, f::Ne{});
    case BinaryOp::Lt: return compare(a, b, out, f::Lt{});
    case BinaryOp::Le: return compare(a, b, out, f::Le{});
    case BinaryOp::Gt: return compare(a, b, out, f::Gt{});
    case BinaryOp::Ge: return compare(a, b, out, f::Ge{});
    case BinaryOp::LogicalAnd: return map_elements<bool, bool, bool>(out, {&a, &b}, f::LogicalAnd{});
    case BinaryOp::LogicalOr: return map_elements<bool, bool, bool>(out, {&a, &b}, f::LogicalOr{});
    case BinaryOp::ReluBackward: return binary_floating("relu_backward", a, b, out, f::ReluBackward{});
    case BinaryOp::SigmoidBackward: return binary_floating("sigmoid_backward", a, b, out, f::SigmoidBackward{});
    case BinaryOp::TanhBackward: return binary_floating("tanh_backward", a, b, out, f::TanhBackward{});
    case BinaryOp::GeluErfBackward: return binary_floating("gelu_backward", a, b, out, f::GeluErfBackward{});
    case BinaryOp::GeluTanhBackward: return binary_floating("gelu_backward", a, b, out, f::GeluTanhBackward{});
    case BinaryOp::SiluBackward: return binary_floating("silu_backward", a, b, out, f::SiluBackward{});
  }
}

void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map_elements<T, bool, T, T>(out, {&cond, &a, &b}, [](bool c, auto x, auto y) { return c ? x : y; });
  });
}

}  // namespace kiln::cpu
