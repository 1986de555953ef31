// Elementwise math written once for the CPU loops and the CUDA kernels.
// Each functor takes and returns opmath values (float for f16/bf16).
// Floating-only functors are called with float or double; the others with
// any arithmetic type.
#pragma once
#include <cstdint>
#include <type_traits>
#include <utility>

#include "functors/math.h"
#include "kiln/core/dtype.h"

namespace kiln::functors {

// The dtypes an op takes: any, floating only, or bool only.
enum class Domain : uint8_t { All, Floating, Bool };

// Every functor below names itself (kName, in error messages) and its
// Domain. The enums and visitors at the end of this file turn an op's enum
// value into its functor, for the CPU loops and the CUDA kernels alike.

// --- unary -------------------------------------------------------------------------
struct Neg {
  static constexpr const char* kName = "neg";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T x) const { return static_cast<T>(-x); }
};
struct Abs {
  static constexpr const char* kName = "abs";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? static_cast<T>(-x) : x;
  }
};
struct Sign {
  static constexpr const char* kName = "sign";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return x;
    else if constexpr (std::is_unsigned_v<T>) return static_cast<T>(T(0) < x);  // never negative
    else return static_cast<T>((T(0) < x) - (x < T(0)));
  }
};
struct Relu {
  static constexpr const char* kName = "relu";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return isnan_(x) ? x : (x > T(0) ? x : T(0));
    else return x > T(0) ? x : T(0);
  }
};
struct Exp {
  static constexpr const char* kName = "exp";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return exp_(x); }
};
struct Log {
  static constexpr const char* kName = "log";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return log_(x); }
};
struct Sqrt {
  static constexpr const char* kName = "sqrt";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return sqrt_(x); }
};
struct Rsqrt {
  static constexpr const char* kName = "rsqrt";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return T(1) / sqrt_(x); }
};
struct Reciprocal {
  static constexpr const char* kName = "reciprocal";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return T(1) / x; }
};
struct Tanh {
  static constexpr const char* kName = "tanh";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return tanh_(x); }
};
struct Sigmoid {
  static constexpr const char* kName = "sigmoid";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return T(1) / (T(1) + exp_(-x)); }
};
// x * Phi(x), Phi the standard normal CDF.
struct GeluErf {
  static constexpr const char* kName = "gelu";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return T(0.5) * x * (T(1) + erf_(x * T(0.7071067811865476))); }
};
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
struct GeluTanh {
  static constexpr const char* kName = "gelu";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const {
    const T inner = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
    return T(0.5) * x * (T(1) + tanh_(inner));
  }
};
struct Silu {
  static constexpr const char* kName = "silu";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return x / (T(1) + exp_(-x)); }
};
struct Sin {
  static constexpr const char* kName = "sin";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return sin_(x); }
};
struct Cos {
  static constexpr const char* kName = "cos";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T x) const { return cos_(x); }
};
struct LogicalNot {
  static constexpr const char* kName = "logical_not";
  static constexpr Domain kDomain = Domain::Bool;
  KILN_HD bool operator()(bool x) const { return !x; }
};
struct Clamp {
  static constexpr const char* kName = "clamp";
  static constexpr Domain kDomain = Domain::All;
  double lo, hi;
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (isnan_(x)) return x;
    }
    const double v = static_cast<double>(x);
    return v < lo ? static_cast<T>(lo) : (v > hi ? static_cast<T>(hi) : x);
  }
};
struct PowScalar {
  static constexpr const char* kName = "pow";
  static constexpr Domain kDomain = Domain::All;
  double e;
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (e == 2.0) return x * x;
      if (e == 1.0) return x;
      if (e == 0.5) return sqrt_(x);
      return pow_(x, static_cast<T>(e));
    } else {
      // Integer power by squaring; negative exponents are refused by the op.
      T result = 1, base = x;
      for (int64_t n = static_cast<int64_t>(e); n > 0; n >>= 1) {
        if (n & 1) result = static_cast<T>(result * base);
        base = static_cast<T>(base * base);
      }
      return result;
    }
  }
};

// --- binary ------------------------------------------------------------------------
struct Add {
  static constexpr const char* kName = "add";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T a, T b) const { return static_cast<T>(a + b); }
};
struct Sub {
  static constexpr const char* kName = "sub";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T a, T b) const { return static_cast<T>(a - b); }
};
struct Mul {
  static constexpr const char* kName = "mul";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T a, T b) const { return static_cast<T>(a * b); }
};
struct Div {
  static constexpr const char* kName = "div";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T a, T b) const { return a / b; }
};
struct Pow {
  static constexpr const char* kName = "pow";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return pow_(a, b);
    else return PowScalar{static_cast<double>(b)}(a);
  }
};
struct Maximum {
  static constexpr const char* kName = "maximum";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (isnan_(a) || isnan_(b)) return a + b;  // propagate nan
    }
    return a > b ? a : b;
  }
};
struct Minimum {
  static constexpr const char* kName = "minimum";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (isnan_(a) || isnan_(b)) return a + b;
    }
    return a < b ? a : b;
  }
};
struct Eq {
  static constexpr const char* kName = "eq";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD bool operator()(T a, T b) const { return a == b; }
};
struct Ne {
  static constexpr const char* kName = "ne";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD bool operator()(T a, T b) const { return a != b; }
};
struct Lt {
  static constexpr const char* kName = "lt";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD bool operator()(T a, T b) const { return a < b; }
};
struct Le {
  static constexpr const char* kName = "le";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD bool operator()(T a, T b) const { return a <= b; }
};
struct Gt {
  static constexpr const char* kName = "gt";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD bool operator()(T a, T b) const { return a > b; }
};
struct Ge {
  static constexpr const char* kName = "ge";
  static constexpr Domain kDomain = Domain::All;
  template <class T> KILN_HD bool operator()(T a, T b) const { return a >= b; }
};
struct LogicalAnd {
  static constexpr const char* kName = "logical_and";
  static constexpr Domain kDomain = Domain::Bool;
  KILN_HD bool operator()(bool a, bool b) const { return a && b; }
};
struct LogicalOr {
  static constexpr const char* kName = "logical_or";
  static constexpr Domain kDomain = Domain::Bool;
  KILN_HD bool operator()(bool a, bool b) const { return a || b; }
};

// Backward helpers: (grad, saved) -> grad * derivative.
struct ReluBackward {
  static constexpr const char* kName = "relu_backward";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T g, T y) const { return y > T(0) ? g : T(0); }
};
struct SigmoidBackward {
  static constexpr const char* kName = "sigmoid_backward";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T g, T y) const { return g * y * (T(1) - y); }
};
struct TanhBackward {
  static constexpr const char* kName = "tanh_backward";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T g, T y) const { return g * (T(1) - y * y); }
};
struct GeluErfBackward {
  static constexpr const char* kName = "gelu_backward";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T g, T x) const {
    const T cdf = T(0.5) * (T(1) + erf_(x * T(0.7071067811865476)));
    const T pdf = exp_(T(-0.5) * x * x) * T(0.3989422804014327);
    return g * (cdf + x * pdf);
  }
};
struct GeluTanhBackward {
  static constexpr const char* kName = "gelu_backward";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T g, T x) const {
    const T k = T(0.7978845608028654), c = T(0.044715);
    const T inner = k * (x + c * x * x * x);
    const T th = tanh_(inner);
    const T dinner = k * (T(1) + T(3) * c * x * x);
    return g * (T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * dinner);
  }
};
struct SiluBackward {
  static constexpr const char* kName = "silu_backward";
  static constexpr Domain kDomain = Domain::Floating;
  template <class T> KILN_HD T operator()(T g, T x) const {
    const T s = T(1) / (T(1) + exp_(-x));
    return g * s * (T(1) + x * (T(1) - s));
  }
};

// cond ? a : b (where).
struct Where {
  static constexpr const char* kName = "where";
  static constexpr Domain kDomain = Domain::All;
  template <class V> KILN_HD V operator()(bool c, V a, V b) const { return c ? a : b; }
};

// --- the ops as enums, and their visitors ---------------------------------------------
enum class UnaryOp : uint8_t {
  Neg, Abs, Sign, Exp, Log, Sqrt, Rsqrt, Reciprocal, Tanh, Sigmoid, Relu,
  GeluErf, GeluTanh, Silu, LogicalNot,
  Sin, Cos,
  Clamp,     // params.a = min (or -inf), params.b = max (or +inf)
  PowScalar  // params.a = exponent
};
struct UnaryParams {
  double a = 0;
  double b = 0;
};

enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum,
  Eq, Ne, Lt, Le, Gt, Ge,  // out is bool
  LogicalAnd, LogicalOr,   // out is bool
  // Backward helpers f(grad, saved): the derivative times grad.
  ReluBackward,      // saved = x
  SigmoidBackward,   // saved = y = sigmoid(x)
  TanhBackward,      // saved = y = tanh(x)
  GeluErfBackward,   // saved = x
  GeluTanhBackward,  // saved = x
  SiluBackward       // saved = x
};

// f(functor) with the functor of `op`: the one place a UnaryOp becomes code.
template <class F>
decltype(auto) visit_unary(UnaryOp op, const UnaryParams& p, F&& f) {
  switch (op) {
    case UnaryOp::Neg: return f(Neg{});
    case UnaryOp::Abs: return f(Abs{});
    case UnaryOp::Sign: return f(Sign{});
    case UnaryOp::Exp: return f(Exp{});
    case UnaryOp::Log: return f(Log{});
    case UnaryOp::Sqrt: return f(Sqrt{});
    case UnaryOp::Rsqrt: return f(Rsqrt{});
    case UnaryOp::Reciprocal: return f(Reciprocal{});
    case UnaryOp::Tanh: return f(Tanh{});
    case UnaryOp::Sigmoid: return f(Sigmoid{});
    case UnaryOp::Relu: return f(Relu{});
    case UnaryOp::GeluErf: return f(GeluErf{});
    case UnaryOp::GeluTanh: return f(GeluTanh{});
    case UnaryOp::Silu: return f(Silu{});
    case UnaryOp::LogicalNot: return f(LogicalNot{});
    case UnaryOp::Sin: return f(Sin{});
    case UnaryOp::Cos: return f(Cos{});
    case UnaryOp::Clamp: return f(Clamp{p.a, p.b});
    case UnaryOp::PowScalar: return f(PowScalar{p.a});
  }
  return f(Neg{});  // unreachable
}

// f(functor) with the functor of `op`: the one place a BinaryOp becomes code.
template <class F>
decltype(auto) visit_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::Add: return f(Add{});
    case BinaryOp::Sub: return f(Sub{});
    case BinaryOp::Mul: return f(Mul{});
    case BinaryOp::Div: return f(Div{});
    case BinaryOp::Pow: return f(Pow{});
    case BinaryOp::Maximum: return f(Maximum{});
    case BinaryOp::Minimum: return f(Minimum{});
    case BinaryOp::Eq: return f(Eq{});
    case BinaryOp::Ne: return f(Ne{});
    case BinaryOp::Lt: return f(Lt{});
    case BinaryOp::Le: return f(Le{});
    case BinaryOp::Gt: return f(Gt{});
    case BinaryOp::Ge: return f(Ge{});
    case BinaryOp::LogicalAnd: return f(LogicalAnd{});
    case BinaryOp::LogicalOr: return f(LogicalOr{});
    case BinaryOp::ReluBackward: return f(ReluBackward{});
    case BinaryOp::SigmoidBackward: return f(SigmoidBackward{});
    case BinaryOp::TanhBackward: return f(TanhBackward{});
    case BinaryOp::GeluErfBackward: return f(GeluErfBackward{});
    case BinaryOp::GeluTanhBackward: return f(GeluTanhBackward{});
    case BinaryOp::SiluBackward: return f(SiluBackward{});
  }
  return f(Add{});  // unreachable
}

// g(T{}) for the stored type T of `dtype` when the functor F takes it;
// otherwise DTypeError naming F. `device` ("cpu", "cuda") goes in the message.
template <class F, class G>
void visit_domain(DType dtype, const char* device, G&& g) {
  if constexpr (F::kDomain == Domain::Floating) {
    if (!is_floating(dtype))
      throw DTypeError(detail::str_cat(F::kName, ": not implemented for ", dtype_name(dtype), " on ", device));
    visit_floating(dtype, F::kName, g);
  } else if constexpr (F::kDomain == Domain::Bool) {
    if (dtype != DType::Bool)
      throw DTypeError(detail::str_cat(F::kName, ": expects bool operands on ", device, ", got ", dtype_name(dtype)));
    g(bool{});
  } else {
    visit_dtype(dtype, g);
  }
}

// The stored type a functor writes for inputs stored as T: bool for
// comparisons and logical ops (they return bool), T otherwise.
template <class R, class T> using stored_result_t = std::conditional_t<std::is_same_v<R, bool>, bool, T>;
template <class F, class T>
using unary_result_t = stored_result_t<decltype(std::declval<const F&>()(std::declval<opmath_t<T>>())), T>;
template <class F, class T>
using binary_result_t =
    stored_result_t<decltype(std::declval<const F&>()(std::declval<opmath_t<T>>(), std::declval<opmath_t<T>>())), T>;

}  // namespace kiln::functors
