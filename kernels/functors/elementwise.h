// Elementwise math written once for the CPU loops and the CUDA kernels.
// Each functor takes and returns opmath values (float for f16/bf16).
// Floating-only functors are called with float or double; the others with
// any arithmetic type.
#pragma once
#include <cstdint>
#include <type_traits>

#include "functors/math.h"

namespace kiln::functors {

// --- unary -------------------------------------------------------------------------
struct Neg { template <class T> KILN_HD T operator()(T x) const { return static_cast<T>(-x); } };
struct Abs {
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_unsigned_v<T>) return x;
    else return x < T(0) ? static_cast<T>(-x) : x;
  }
};
struct Sign {
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_same_v<T, bool>) return x;
    else if constexpr (std::is_unsigned_v<T>) return static_cast<T>(T(0) < x);  // never negative
    else return static_cast<T>((T(0) < x) - (x < T(0)));
  }
};
struct Relu {
  template <class T> KILN_HD T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>) return isnan_(x) ? x : (x > T(0) ? x : T(0));
    else return x > T(0) ? x : T(0);
  }
};
struct Exp { template <class T> KILN_HD T operator()(T x) const { return exp_(x); } };
struct Log { template <class T> KILN_HD T operator()(T x) const { return log_(x); } };
struct Sqrt { template <class T> KILN_HD T operator()(T x) const { return sqrt_(x); } };
struct Rsqrt { template <class T> KILN_HD T operator()(T x) const { return T(1) / sqrt_(x); } };
struct Reciprocal { template <class T> KILN_HD T operator()(T x) const { return T(1) / x; } };
struct Tanh { template <class T> KILN_HD T operator()(T x) const { return tanh_(x); } };
struct Sigmoid { template <class T> KILN_HD T operator()(T x) const { return T(1) / (T(1) + exp_(-x)); } };
// x * Phi(x), Phi the standard normal CDF.
struct GeluErf {
  template <class T> KILN_HD T operator()(T x) const { return T(0.5) * x * (T(1) + erf_(x * T(0.7071067811865476))); }
};
// 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
struct GeluTanh {
  template <class T> KILN_HD T operator()(T x) const {
    const T inner = T(0.7978845608028654) * (x + T(0.044715) * x * x * x);
    return T(0.5) * x * (T(1) + tanh_(inner));
  }
};
struct Silu { template <class T> KILN_HD T operator()(T x) const { return x / (T(1) + exp_(-x)); } };
struct LogicalNot { KILN_HD bool operator()(bool x) const { return !x; } };
struct Clamp {
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
struct Add { template <class T> KILN_HD T operator()(T a, T b) const { return static_cast<T>(a + b); } };
struct Sub { template <class T> KILN_HD T operator()(T a, T b) const { return static_cast<T>(a - b); } };
struct Mul { template <class T> KILN_HD T operator()(T a, T b) const { return static_cast<T>(a * b); } };
struct Div { template <class T> KILN_HD T operator()(T a, T b) const { return a / b; } };
struct Pow {
  template <class T> KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) return pow_(a, b);
    else return PowScalar{static_cast<double>(b)}(a);
  }
};
struct Maximum {
  template <class T> KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (isnan_(a) || isnan_(b)) return a + b;  // propagate nan
    }
    return a > b ? a : b;
  }
};
struct Minimum {
  template <class T> KILN_HD T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (isnan_(a) || isnan_(b)) return a + b;
    }
    return a < b ? a : b;
  }
};
struct Eq { template <class T> KILN_HD bool operator()(T a, T b) const { return a == b; } };
struct Ne { template <class T> KILN_HD bool operator()(T a, T b) const { return a != b; } };
struct Lt { template <class T> KILN_HD bool operator()(T a, T b) const { return a < b; } };
struct Le { template <class T> KILN_HD bool operator()(T a, T b) const { return a <= b; } };
struct Gt { template <class T> KILN_HD bool operator()(T a, T b) const { return a > b; } };
struct Ge { template <class T> KILN_HD bool operator()(T a, T b) const { return a >= b; } };
struct LogicalAnd { KILN_HD bool operator()(bool a, bool b) const { return a && b; } };
struct LogicalOr { KILN_HD bool operator()(bool a, bool b) const { return a || b; } };

// Backward helpers: (grad, saved) -> grad * derivative.
struct ReluBackward { template <class T> KILN_HD T operator()(T g, T y) const { return y > T(0) ? g : T(0); } };
struct SigmoidBackward { template <class T> KILN_HD T operator()(T g, T y) const { return g * y * (T(1) - y); } };
struct TanhBackward { template <class T> KILN_HD T operator()(T g, T y) const { return g * (T(1) - y * y); } };
struct GeluErfBackward {
  template <class T> KILN_HD T operator()(T g, T x) const {
    const T cdf = T(0.5) * (T(1) + erf_(x * T(0.7071067811865476)));
    const T pdf = exp_(T(-0.5) * x * x) * T(0.3989422804014327);
    return g * (cdf + x * pdf);
  }
};
struct GeluTanhBackward {
  template <class T> KILN_HD T operator()(T g, T x) const {
    const T k = T(0.7978845608028654), c = T(0.044715);
    const T inner = k * (x + c * x * x * x);
    const T th = tanh_(inner);
    const T dinner = k * (T(1) + T(3) * c * x * x);
    return g * (T(0.5) * (T(1) + th) + T(0.5) * x * (T(1) - th * th) * dinner);
  }
};
struct SiluBackward {
  template <class T> KILN_HD T operator()(T g, T x) const {
    const T s = T(1) / (T(1) + exp_(-x));
    return g * s * (T(1) + x * (T(1) - s));
  }
};

}  // namespace kiln::functors
