// Element types. f16/bf16 are stored as 16 bits and computed in f32 (opmath).
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "kiln/core/half.h"

namespace kiln {

enum class DType : uint8_t { Bool, UInt8, Int32, Int64, Float16, BFloat16, Float32, Float64 };

constexpr DType kBool = DType::Bool;
constexpr DType kUInt8 = DType::UInt8;
constexpr DType kInt32 = DType::Int32;
constexpr DType kInt64 = DType::Int64;
constexpr DType kFloat16 = DType::Float16;
constexpr DType kBFloat16 = DType::BFloat16;
constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
// LibTorch spellings.
constexpr DType kByte = DType::UInt8;
constexpr DType kInt = DType::Int32;
constexpr DType kLong = DType::Int64;
constexpr DType kHalf = DType::Float16;
constexpr DType kFloat = DType::Float32;
constexpr DType kDouble = DType::Float64;

size_t element_size(DType t);
const char* dtype_name(DType t);  // "float32", "int64", ...
bool is_floating(DType t);
bool is_integral(DType t);  // includes bool
bool is_low_precision(DType t);  // f16 or bf16
// The smallest dtype both can be converted to without losing their category
// (bool < integer < floating), following PyTorch's promotion table.
DType promote_types(DType a, DType b);
std::ostream& operator<<(std::ostream& os, DType t);

// C++ type <-> DType.
template <class T> struct dtype_of;
template <> struct dtype_of<bool> { static constexpr DType value = kBool; };
template <> struct dtype_of<uint8_t> { static constexpr DType value = kUInt8; };
template <> struct dtype_of<int32_t> { static constexpr DType value = kInt32; };
template <> struct dtype_of<int64_t> { static constexpr DType value = kInt64; };
template <> struct dtype_of<Half> { static constexpr DType value = kFloat16; };
template <> struct dtype_of<BFloat16> { static constexpr DType value = kBFloat16; };
template <> struct dtype_of<float> { static constexpr DType value = kFloat32; };
template <> struct dtype_of<double> { static constexpr DType value = kFloat64; };
template <class T> constexpr DType dtype_of_v = dtype_of<T>::value;

// Type used for arithmetic on stored values of T: f32 for f16/bf16.
template <class T> struct opmath { using type = T; };
template <> struct opmath<Half> { using type = float; };
template <> struct opmath<BFloat16> { using type = float; };
template <class T> using opmath_t = typename opmath<T>::type;

// Calls fn(T{}) with T the C++ type of `t`. The one place a runtime dtype
// becomes a compile-time type.
template <class Fn>
decltype(auto) visit_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::Bool: return fn(bool{});
    case DType::UInt8: return fn(uint8_t{});
    case DType::Int32: return fn(int32_t{});
    case DType::Int64: return fn(int64_t{});
    case DType::Float16: return fn(Half{});
    case DType::BFloat16: return fn(BFloat16{});
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
  }
  return fn(float{});  // unreachable; keeps compilers quiet
}

}  // namespace kiln
