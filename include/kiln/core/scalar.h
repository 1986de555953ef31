// A number passed where a tensor could be: 0.5f * x, x.fill_(2), clamp(x, 0, 6).
#pragma once
#include <cstdint>
#include <type_traits>

#include "kiln/core/convert.h"
#include "kiln/core/dtype.h"

namespace kiln {

class Scalar {
 public:
  enum class Kind : uint8_t { Bool, Int, Float };
  Scalar() : kind_(Kind::Int), i_(0) {}
  template <class T, std::enable_if_t<std::is_arithmetic_v<T>, int> = 0>
  Scalar(T v) {  // NOLINT: implicit, so numbers pass as scalars
    if constexpr (std::is_same_v<T, bool>) {
      kind_ = Kind::Bool;
      i_ = v ? 1 : 0;
    } else if constexpr (std::is_integral_v<T>) {
      kind_ = Kind::Int;
      i_ = static_cast<int64_t>(v);
    } else {
      kind_ = Kind::Float;
      d_ = static_cast<double>(v);
    }
  }
  Scalar(Half v) : kind_(Kind::Float), d_(static_cast<float>(v)) {}          // NOLINT
  Scalar(BFloat16 v) : kind_(Kind::Float), d_(static_cast<float>(v)) {}      // NOLINT

  Kind kind() const { return kind_; }
  bool is_floating() const { return kind_ == Kind::Float; }
  bool is_integral() const { return kind_ != Kind::Float; }
  double to_double() const { return kind_ == Kind::Float ? d_ : static_cast<double>(i_); }
  int64_t to_int() const { return kind_ == Kind::Float ? convert<int64_t>(d_) : i_; }

  // LibTorch's spellings: x.item().toFloat(), s.isFloatingPoint().
  float toFloat() const { return to<float>(); }
  double toDouble() const { return to_double(); }
  int64_t toLong() const { return to<int64_t>(); }
  int32_t toInt() const { return to<int32_t>(); }
  bool toBool() const { return to<bool>(); }
  Half toHalf() const { return to<Half>(); }
  BFloat16 toBFloat16() const { return to<BFloat16>(); }
  bool isFloatingPoint() const { return is_floating(); }
  // LibTorch counts bool as integral only when asked to.
  bool isIntegral(bool include_bool) const { return kind_ == Kind::Int || (include_bool && kind_ == Kind::Bool); }
  bool isBoolean() const { return kind_ == Kind::Bool; }
  DType type() const { return natural_dtype(); }
  // The value as element type T, by kiln's one conversion rule (kiln/core/convert.h).
  template <class T> T to() const {
    if constexpr (std::is_same_v<T, bool>) return to_double() != 0.0;
    else if (kind_ == Kind::Float) return convert<T>(d_);
    else return convert<T>(i_);
  }
  // The dtype a tensor made from this scalar alone would have.
  DType natural_dtype() const {
    return kind_ == Kind::Float ? kFloat64 : (kind_ == Kind::Bool ? kBool : kInt64);
  }

 private:
  Kind kind_;
  union {
    int64_t i_;
    double d_;
  };
};

template <> inline double Scalar::to<double>() const { return to_double(); }

}  // namespace kiln
