// Element types. f16/bf16 are stored as 16 bits and computed in f32 (opmath).
// The storage-only dtypes (int8, int16, uint16, uint32, uint64, float8_e4m3fn,
// float8_e5m2: every dtype of the safetensors spec kiln has no kernels for)
// can be created, viewed, copied, moved between devices, saved, loaded and
// converted with to() on the CPU, and nothing else: visit_dtype, through
// which every arithmetic kernel dispatches, throws DTypeError for them.
// Header-only (kernels/ uses it without linking libkiln).
#pragma once
#include <cstddef>
#include <cstdint>
#include <ostream>
#include <string>

#include "kiln/core/error.h"
#include "kiln/core/float8.h"
#include "kiln/core/half.h"

namespace kiln {

enum class DType : uint8_t {
  Bool, UInt8, Int32, Int64, Float16, BFloat16, Float32, Float64,
  // storage only
  Int8, Int16, UInt16, UInt32, UInt64, Float8_e4m3fn, Float8_e5m2
};

constexpr DType kBool = DType::Bool;
constexpr DType kUInt8 = DType::UInt8;
constexpr DType kInt32 = DType::Int32;
constexpr DType kInt64 = DType::Int64;
constexpr DType kFloat16 = DType::Float16;
constexpr DType kBFloat16 = DType::BFloat16;
constexpr DType kFloat32 = DType::Float32;
constexpr DType kFloat64 = DType::Float64;
constexpr DType kInt8 = DType::Int8;
constexpr DType kInt16 = DType::Int16;
constexpr DType kUInt16 = DType::UInt16;
constexpr DType kUInt32 = DType::UInt32;
constexpr DType kUInt64 = DType::UInt64;
constexpr DType kFloat8_e4m3fn = DType::Float8_e4m3fn;
constexpr DType kFloat8_e5m2 = DType::Float8_e5m2;
// LibTorch spellings.
constexpr DType kChar = DType::Int8;
constexpr DType kShort = DType::Int16;
constexpr DType kByte = DType::UInt8;
constexpr DType kInt = DType::Int32;
constexpr DType kLong = DType::Int64;
constexpr DType kHalf = DType::Float16;
constexpr DType kFloat = DType::Float32;
constexpr DType kDouble = DType::Float64;

inline size_t element_size(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8:
    case DType::Int8:
    case DType::Float8_e4m3fn:
    case DType::Float8_e5m2: return 1;
    case DType::Float16:
    case DType::BFloat16:
    case DType::Int16:
    case DType::UInt16: return 2;
    case DType::Int32:
    case DType::UInt32:
    case DType::Float32: return 4;
    case DType::Int64:
    case DType::UInt64:
    case DType::Float64: return 8;
  }
  return 0;
}

// "float32", "int64", ...
inline const char* dtype_name(DType t) {
  switch (t) {
    case DType::Bool: return "bool";
    case DType::UInt8: return "uint8";
    case DType::Int32: return "int32";
    case DType::Int64: return "int64";
    case DType::Float16: return "float16";
    case DType::BFloat16: return "bfloat16";
    case DType::Float32: return "float32";
    case DType::Float64: return "float64";
    case DType::Int8: return "int8";
    case DType::Int16: return "int16";
    case DType::UInt16: return "uint16";
    case DType::UInt32: return "uint32";
    case DType::UInt64: return "uint64";
    case DType::Float8_e4m3fn: return "float8_e4m3fn";
    case DType::Float8_e5m2: return "float8_e5m2";
  }
  return "?";
}

// The dtypes kiln stores but computes nothing with (see the top of this file).
inline bool is_storage_only(DType t) { return static_cast<uint8_t>(t) >= static_cast<uint8_t>(DType::Int8); }
inline bool is_float8(DType t) { return t == DType::Float8_e4m3fn || t == DType::Float8_e5m2; }

inline bool is_floating(DType t) {
  return t == DType::Float16 || t == DType::BFloat16 || t == DType::Float32 || t == DType::Float64;
}
// Includes bool and the storage-only integers; the float8 dtypes are neither
// (is_floating is false for them too: no kernel computes in them).
inline bool is_integral(DType t) { return !is_floating(t) && !is_float8(t); }
inline bool is_low_precision(DType t) { return t == DType::Float16 || t == DType::BFloat16; }
// The smallest dtype both can be converted to without losing their category
// (bool < integer < floating), following PyTorch's promotion table.
DType promote_types(DType a, DType b);
inline std::ostream& operator<<(std::ostream& os, DType t) { return os << dtype_name(t); }

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
template <> struct dtype_of<int8_t> { static constexpr DType value = kInt8; };
template <> struct dtype_of<int16_t> { static constexpr DType value = kInt16; };
template <> struct dtype_of<uint16_t> { static constexpr DType value = kUInt16; };
template <> struct dtype_of<uint32_t> { static constexpr DType value = kUInt32; };
template <> struct dtype_of<uint64_t> { static constexpr DType value = kUInt64; };
template <> struct dtype_of<Float8_e4m3fn> { static constexpr DType value = kFloat8_e4m3fn; };
template <> struct dtype_of<Float8_e5m2> { static constexpr DType value = kFloat8_e5m2; };
template <class T> constexpr DType dtype_of_v = dtype_of<T>::value;

// Type used for arithmetic on stored values of T: f32 for f16/bf16.
template <class T> struct opmath { using type = T; };
template <> struct opmath<Half> { using type = float; };
template <> struct opmath<BFloat16> { using type = float; };
template <class T> using opmath_t = typename opmath<T>::type;

[[noreturn]] inline void throw_storage_only(DType t) {
  throw DTypeError(detail::str_cat("dtype ", dtype_name(t),
                                   " is storage only: kiln has no arithmetic for it; convert it with .to(kFloat32) "
                                   "(on the CPU) first"));
}

// Calls fn(T{}) with T the C++ type of `t`, for the dtypes kiln computes
// with; a storage-only dtype throws DTypeError. The one place a runtime
// dtype becomes a compile-time type for kernels.
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
    default: break;
  }
  throw_storage_only(t);
}

// visit_dtype over every dtype, storage-only ones included: for copies and
// conversions (the CPU backend's copy and fill, item()) and nothing else.
template <class Fn>
decltype(auto) visit_any_dtype(DType t, Fn&& fn) {
  switch (t) {
    case DType::Int8: return fn(int8_t{});
    case DType::Int16: return fn(int16_t{});
    case DType::UInt16: return fn(uint16_t{});
    case DType::UInt32: return fn(uint32_t{});
    case DType::UInt64: return fn(uint64_t{});
    case DType::Float8_e4m3fn: return fn(Float8_e4m3fn{});
    case DType::Float8_e5m2: return fn(Float8_e5m2{});
    default: return visit_dtype(t, std::forward<Fn>(fn));
  }
}

// visit_dtype for the floating dtypes only, so `fn` is instantiated for
// Half, BFloat16, float and double alone; any other dtype throws DTypeError
// naming `op`. The CPU loops and the CUDA launchers both dispatch with it.
template <class Fn>
decltype(auto) visit_floating(DType t, const char* op, Fn&& fn) {
  switch (t) {
    case DType::Float16: return fn(Half{});
    case DType::BFloat16: return fn(BFloat16{});
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: break;
  }
  throw DTypeError(detail::str_cat(op, ": expects a floating dtype (float16, bfloat16, float32 or float64), got ",
                                   dtype_name(t)));
}

}  // namespace kiln
