// Compute and accumulate types, following PyTorch's opmath_t: values stored
// as f16/bf16 are computed in f32; reductions accumulate f16/bf16/f32 in
// f32, f64 in f64, and integers (and bool) in int64.
#pragma once
#include <cstdint>
#include <type_traits>

#include "kiln/core/convert.h"
#include "kiln/core/dtype.h"

namespace kiln::kernels {

using kiln::opmath_t;

template <class T> struct acc_type {
  using type = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, opmath_t<T>, int64_t>;
};
template <class T> using acc_t = typename acc_type<T>::type;

// Stored value -> opmath value.
template <class T> __host__ __device__ inline opmath_t<T> to_op(T v) { return static_cast<opmath_t<T>>(v); }

// Opmath value -> stored value, by kiln's one conversion rule
// (kiln/core/convert.h, shared with the CPU): bool is "not zero", floating
// to integer saturates (NaN -> 0).
template <class T, class V> __host__ __device__ inline T from_op(V v) { return convert<T>(v); }

}  // namespace kiln::kernels
