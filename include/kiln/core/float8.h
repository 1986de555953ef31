// The two 8-bit floating formats of safetensors and PyTorch, as storage
// types: kiln holds, copies and converts them but has no arithmetic on them
// (convert with to(kFloat32) first).
//   Float8_e4m3fn  1 sign, 4 exponent (bias 7), 3 mantissa bits; no
//                  infinities, NaN is S.1111.111, largest finite 448.
//   Float8_e5m2    1 sign, 5 exponent (bias 15), 2 mantissa bits; IEEE-like
//                  with infinities, largest finite 57344.
// From float both round to nearest even. Out of range: e5m2 gives +-inf, and
// e4m3fn (which has no infinity) saturates to +-448, infinities included, as
// PyTorch's conversions do (checked against PyTorch 2.15 for every code and
// the midpoints between them; PyTorch 2.1 gave NaN there). NaN stays NaN.
// Host only: the CUDA backend copies these dtypes but does not convert them.
#pragma once
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>

namespace kiln {
namespace detail {

// Decodes `bits` of a format with E exponent and M mantissa bits.
template <int E, int M, bool kHasInf>
inline float fp8_to_float(uint8_t bits) {
  constexpr int bias = (1 << (E - 1)) - 1;
  const bool neg = (bits & 0x80) != 0;
  const int exp = (bits >> M) & ((1 << E) - 1);
  const int man = bits & ((1 << M) - 1);
  float v;
  if (kHasInf && exp == (1 << E) - 1) {
    v = man == 0 ? INFINITY : NAN;
  } else if (!kHasInf && exp == (1 << E) - 1 && man == (1 << M) - 1) {
    v = NAN;
  } else if (exp == 0) {
    v = std::ldexp(static_cast<float>(man), 1 - bias - M);  // subnormal
  } else {
    v = std::ldexp(static_cast<float>(man + (1 << M)), exp - bias - M);
  }
  return neg ? -v : v;
}

// Encodes f, rounding to nearest even; overflow_code is the code for values
// that round beyond the largest finite one (inf, or without infinities the
// largest finite value: saturation), without the sign.
template <int E, int M, bool kHasInf>
inline uint8_t fp8_from_float(float f) {
  constexpr int bias = (1 << (E - 1)) - 1;
  // NaN is the all-ones code (0x7F) in both, the bits PyTorch gives.
  constexpr uint8_t nan_code = 0x7F;
  constexpr uint8_t overflow_code = kHasInf ? static_cast<uint8_t>(((1 << E) - 1) << M) : 0x7E;
  // The largest finite value: all-ones exponent is reserved with infinities,
  // and only the all-ones mantissa of it without.
  constexpr int max_exp = kHasInf ? (1 << E) - 2 : (1 << E) - 1;
  constexpr int max_man = kHasInf ? (1 << M) - 1 : (1 << M) - 2;
  if (std::isnan(f)) return nan_code;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0;
  const double a = std::fabs(static_cast<double>(f));
  const double max_finite = std::ldexp(static_cast<double>(max_man + (1 << M)), max_exp - bias - M);
  // Halfway to the next step above the largest finite value: a tie rounds
  // to the even mantissa, which is out of range when max_man is odd.
  const double limit = max_finite + std::ldexp(1.0, max_exp - bias - M - 1);
  if (a > limit || (a == limit && (max_man & 1) != 0)) return static_cast<uint8_t>(sign | overflow_code);
  if (a == 0) return sign;
  int e = 0;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1): the unbiased exponent is e - 1
  const int unbiased = std::max(e - 1, 1 - bias);
  const double quantum = std::ldexp(1.0, unbiased - M);
  const double q = std::nearbyint(a / quantum);  // round to nearest even
  double v = q * quantum;
  if (v > max_finite) v = max_finite;  // [max_finite, limit) rounds down to it
  if (v == 0) return sign;
  std::frexp(v, &e);
  if (e - 1 < 1 - bias) {  // subnormal
    return static_cast<uint8_t>(sign | static_cast<int>(v / std::ldexp(1.0, 1 - bias - M)));
  }
  const int exp_field = e - 1 + bias;
  const int man = static_cast<int>(v / std::ldexp(1.0, e - 1 - M)) - (1 << M);
  return static_cast<uint8_t>(sign | exp_field << M | man);
}

}  // namespace detail

struct Float8_e4m3fn {
  uint8_t bits = 0;
  Float8_e4m3fn() = default;
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  explicit Float8_e4m3fn(T v) : bits(detail::fp8_from_float<4, 3, false>(static_cast<float>(v))) {}
  static Float8_e4m3fn from_bits(uint8_t b) {
    Float8_e4m3fn f;
    f.bits = b;
    return f;
  }
  operator float() const { return detail::fp8_to_float<4, 3, false>(bits); }  // NOLINT
};

struct Float8_e5m2 {
  uint8_t bits = 0;
  Float8_e5m2() = default;
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  explicit Float8_e5m2(T v) : bits(detail::fp8_from_float<5, 2, true>(static_cast<float>(v))) {}
  static Float8_e5m2 from_bits(uint8_t b) {
    Float8_e5m2 f;
    f.bits = b;
    return f;
  }
  operator float() const { return detail::fp8_to_float<5, 2, true>(bits); }  // NOLINT
};

}  // namespace kiln
