// How one element type converts to another: the one rule the CPU backend,
// the CUDA kernels and Scalar share, so to(dtype), copy_, fill_ and arange
// give the same values on every device.
//   - to bool: v != 0 (NaN is true).
//   - floating to an integer type: NaN gives 0, values beyond the type's
//     range give its lowest or largest value (saturate), the rest truncate
//     toward zero. This is what the GPU's cvt instruction does; C++ leaves
//     the out-of-range case undefined (g++ wraps on x86: arange(-3, 0) as
//     uint8 gave 253, 254, 255 on the CPU and 0, 0, 0 on a GPU before).
//   - between integer types: two's-complement wrap-around, as PyTorch.
//   - to floating: the nearest value (f16/bf16 round to nearest even).
// Usable from host and CUDA device code (KILN_HD).
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

#include "kiln/core/float8.h"
#include "kiln/core/half.h"

namespace kiln {

// A stored value as something C++ computes with: f16/bf16 as float, the rest as they are.
template <class T>
KILN_HD inline auto widen(T v) {
  if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) return static_cast<float>(v);
  else return v;
}
// float8 (storage only, host only) widens to float as well.
inline float widen(Float8_e4m3fn v) { return static_cast<float>(v); }
inline float widen(Float8_e5m2 v) { return static_cast<float>(v); }

template <class To, class From>
KILN_HD inline To convert(From v) {
  const auto w = widen(v);
  using W = decltype(w);
  if constexpr (std::is_same_v<To, bool>) {
    return w != W(0);  // NaN != 0
  } else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<W>) {
    // Compared in double: exact for every floating input, and the bounds
    // (-2^63 and 2^63 for int64) are exact doubles.
    const double d = static_cast<double>(w);
    if (d != d) return To(0);
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::lowest());
    constexpr double hi = static_cast<double>(std::numeric_limits<To>::max());
    if (d <= lo) return std::numeric_limits<To>::lowest();
    if (d >= hi) return std::numeric_limits<To>::max();
    return static_cast<To>(d);
  } else {
    return static_cast<To>(w);
  }
}

}  // namespace kiln
