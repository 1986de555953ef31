// Elementwise unary, binary and where kernels.
//
// Shapes: every operand has out's sizes (broadcasting is expressed as stride
// 0 by the caller), up to 8 dims, coalesced by the caller. Layout: any
// strides. Precision: f16/bf16 are loaded, converted to f32, computed with
// the functors of kernels/functors/elementwise.h (the CPU backend's math),
// and rounded once on store; f32 and f64 compute in their own type; integer
// types in their own type. Overwrites out.
// Algorithm: the map engine of common/map.cuh (contiguous 16-byte vector
// path, strided index-math path). Results can differ from the CPU in the
// last bits where nvcc contracts a * b + c into an FMA or where the CUDA
// math library's exp/tanh/erf differ by an ulp or two from glibc's.
// Status: compiled, not yet run on a GPU.
#include <type_traits>

#include "common/dispatch.h"
#include "common/map.cuh"
#include "functors/elementwise.h"
#include "kernels.h"

namespace kiln::kernels {

namespace f = kiln::functors;

namespace {

template <class F>
void unary_all(const char* name, const StridedArray& x, const StridedArray& out, F fn, cudaStream_t s) {
  visit_all(x.dtype, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&x};
    launch_map<T, T>(name, out, ins, fn, s);
  });
}

template <class F>
void unary_floating(const char* name, const StridedArray& x, const StridedArray& out, F fn, cudaStream_t s) {
  visit_floating(x.dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&x};
    launch_map<T, T>(name, out, ins, fn, s);
  });
}

template <class F>
void binary_all(const char* name, const StridedArray& a, const StridedArray& b, const StridedArray& out, F fn,
                cudaStream_t s) {
  visit_all(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&a, &b};
    launch_map<T, T, T>(name, out, ins, fn, s);
  });
}

template <class F>
void binary_floating(const char* name, const StridedArray& a, const StridedArray& b, const StridedArray& out, F fn,
                     cudaStream_t s) {
  visit_floating(a.dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&a, &b};
    launch_map<T, T, T>(name, out, ins, fn, s);
  });
}

template <class F>
void compare(const char* name, const StridedArray& a, const StridedArray& b, const StridedArray& out, F fn,
             cudaStream_t s) {
  visit_all(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&a, &b};
    launch_map<bool, T, T>(name, out, ins, fn, s);
  });
}

void check_bool(const char* name, const StridedArray& t) {
  if (t.dtype != DType::Bool)
    throw DTypeError(detail::str_cat(name, ": expects bool operands on cuda, got ", dtype_name(t.dtype)));
}

struct Select {
  template <class V> __device__ V operator()(bool c, V a, V b) const { return c ? a : b; }
};

}  // namespace

void launch_unary(UnaryOp op, const StridedArray& x, const StridedArray& out, double a, double b,
                  cudaStream_t s) {
  switch (op) {
    case UnaryOp::Neg: return unary_all("neg", x, out, f::Neg{}, s);
    case UnaryOp::Abs: return unary_all("abs", x, out, f::Abs{}, s);
    case UnaryOp::Sign: return unary_all("sign", x, out, f::Sign{}, s);
    case UnaryOp::Relu: return unary_all("relu", x, out, f::Relu{}, s);
    case UnaryOp::Clamp: return unary_all("clamp", x, out, f::Clamp{a, b}, s);
    case UnaryOp::PowScalar: return unary_all("pow", x, out, f::PowScalar{a}, s);
    case UnaryOp::Exp: return unary_floating("exp", x, out, f::Exp{}, s);
    case UnaryOp::Log: return unary_floating("log", x, out, f::Log{}, s);
    case UnaryOp::Sqrt: return unary_floating("sqrt", x, out, f::Sqrt{}, s);
    case UnaryOp::Rsqrt: return unary_floating("rsqrt", x, out, f::Rsqrt{}, s);
    case UnaryOp::Reciprocal: return unary_floating("reciprocal", x, out, f::Reciprocal{}, s);
    case UnaryOp::Tanh: return unary_floating("tanh", x, out, f::Tanh{}, s);
    case UnaryOp::Sigmoid: return unary_floating("sigmoid", x, out, f::Sigmoid{}, s);
    case UnaryOp::GeluErf: return unary_floating("gelu", x, out, f::GeluErf{}, s);
    case UnaryOp::GeluTanh: return unary_floating("gelu", x, out, f::GeluTanh{}, s);
    case UnaryOp::Silu: return unary_floating("silu", x, out, f::Silu{}, s);
    case UnaryOp::LogicalNot: {
      check_bool("logical_not", x);
      check_bool("logical_not", out);
      const StridedArray* ins[] = {&x};
      return launch_map<bool, bool>("logical_not", out, ins, f::LogicalNot{}, s);
    }
  }
}

void launch_binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                   cudaStream_t s) {
  switch (op) {
    case BinaryOp::Add: return binary_all("add", a, b, out, f::Add{}, s);
    case BinaryOp::Sub: return binary_all("sub", a, b, out, f::Sub{}, s);
    case BinaryOp::Mul: return binary_all("mul", a, b, out, f::Mul{}, s);
    case BinaryOp::Div: return binary_floating("div", a, b, out, f::Div{}, s);
    case BinaryOp::Pow: return binary_all("pow", a, b, out, f::Pow{}, s);
    case BinaryOp::Maximum: return binary_all("maximum", a, b, out, f::Maximum{}, s);
    case BinaryOp::Minimum: return binary_all("minimum", a, b, out, f::Minimum{}, s);
    case BinaryOp::Eq: return compare("eq", a, b, out, f::Eq{}, s);
    case BinaryOp::Ne: return compare("ne", a, b, out, f::Ne{}, s);
    case BinaryOp::Lt: return compare("lt", a, b, out, f::Lt{}, s);
    case BinaryOp::Le: return compare("le", a, b, out, f::Le{}, s);
    case BinaryOp::Gt: return compare("gt", a, b, out, f::Gt{}, s);
    case BinaryOp::Ge: return compare("ge", a, b, out, f::Ge{}, s);
    case BinaryOp::LogicalAnd:
    case BinaryOp::LogicalOr: {
      const char* name = op == BinaryOp::LogicalAnd ? "logical_and" : "logical_or";
      check_bool(name, a);
      check_bool(name, b);
      check_bool(name, out);
      const StridedArray* ins[] = {&a, &b};
      if (op == BinaryOp::LogicalAnd) return launch_map<bool, bool, bool>(name, out, ins, f::LogicalAnd{}, s);
      return launch_map<bool, bool, bool>(name, out, ins, f::LogicalOr{}, s);
    }
    case BinaryOp::ReluBackward: return binary_floating("relu_backward", a, b, out, f::ReluBackward{}, s);
    case BinaryOp::SigmoidBackward: return binary_floating("sigmoid_backward", a, b, out, f::SigmoidBackward{}, s);
    case BinaryOp::TanhBackward: return binary_floating("tanh_backward", a, b, out, f::TanhBackward{}, s);
    case BinaryOp::GeluErfBackward: return binary_floating("gelu_backward", a, b, out, f::GeluErfBackward{}, s);
    case BinaryOp::GeluTanhBackward: return binary_floating("gelu_backward", a, b, out, f::GeluTanhBackward{}, s);
    case BinaryOp::SiluBackward: return binary_floating("silu_backward", a, b, out, f::SiluBackward{}, s);
  }
}

void launch_where(const StridedArray& cond, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                  cudaStream_t s) {
  check_bool("where", cond);
  visit_all(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&cond, &a, &b};
    launch_map<T, bool, T, T>("where", out, ins, Select{}, s);
  });
}

}  // namespace kiln::kernels
