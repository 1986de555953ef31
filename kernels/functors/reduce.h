// Reductions written once for the CPU loops and the CUDA kernels: the
// identity and the combine of sum, max and min, and argmax/argmin over
// (value, index) pairs. The accumulator type A is the backend's choice
// (kWidens: sums accumulate in a wider type than opmath; max/min are exact
// in opmath); V is the opmath type of the stored values.
//
// NaN: max/min/argmax/argmin return NaN (the first one, for the index), as
// PyTorch does.
#pragma once
#include <cstdint>
#include <limits>
#include <type_traits>

#include "functors/math.h"

namespace kiln::functors {

enum class ReduceOp : uint8_t { Sum, Max, Min };
enum class ArgReduceOp : uint8_t { ArgMax, ArgMin };

struct SumReduce {
  static constexpr const char* kName = "sum";
  static constexpr bool kWidens = true;
  template <class V, class A> KILN_HD static A identity() { return A(0); }
  template <class A> KILN_HD A operator()(A a, A b) const { return a + b; }
};

template <bool kMax>
struct ExtremeReduce {
  static constexpr const char* kName = kMax ? "max" : "min";
  static constexpr bool kWidens = false;
  // -inf/+inf for floating V, else V's limits (held in A, which may be wider).
  template <class V, class A> KILN_HD static A identity() {
    if constexpr (std::is_floating_point_v<V>)
      return kMax ? A(-std::numeric_limits<V>::infinity()) : A(std::numeric_limits<V>::infinity());
    else
      return kMax ? A(std::numeric_limits<V>::lowest()) : A(std::numeric_limits<V>::max());
  }
  template <class A> KILN_HD A operator()(A acc, A v) const {
    if constexpr (std::is_floating_point_v<A>) {
      if (isnan_(acc)) return acc;  // the first NaN wins
      if (isnan_(v)) return v;
    }
    return (kMax ? v > acc : v < acc) ? v : acc;
  }
};
using MaxReduce = ExtremeReduce<true>;
using MinReduce = ExtremeReduce<false>;

// f(functor) with the functor of `op`.
template <class F>
decltype(auto) visit_reduce(ReduceOp op, F&& f) {
  switch (op) {
    case ReduceOp::Sum: return f(SumReduce{});
    case ReduceOp::Max: return f(MaxReduce{});
    case ReduceOp::Min: return f(MinReduce{});
  }
  return f(SumReduce{});  // unreachable
}

// A value and its index along the reduced dim; index -1 is "none yet".
template <class V>
struct ValueIndex {
  V v;
  int64_t i;
};

// The first extreme wins; a NaN is more extreme than any number. Combining
// in any order (sequentially or as a tree) gives the same answer.
template <bool kMax>
struct ArgExtreme {
  static constexpr const char* kName = kMax ? "argmax" : "argmin";
  template <class V> KILN_HD static ValueIndex<V> identity() { return ValueIndex<V>{V(0), -1}; }
  template <class V> KILN_HD ValueIndex<V> operator()(ValueIndex<V> a, ValueIndex<V> b) const {
    if (a.i < 0) return b;
    if (b.i < 0) return a;
    bool an = false, bn = false;
    if constexpr (std::is_floating_point_v<V>) {
      an = isnan_(a.v);
      bn = isnan_(b.v);
    }
    if (an || bn) {
      if (an && bn) return a.i < b.i ? a : b;
      return an ? a : b;
    }
    if (kMax ? b.v > a.v : b.v < a.v) return b;
    if (b.v == a.v && b.i < a.i) return b;
    return a;
  }
};

template <class F>
decltype(auto) visit_arg_reduce(ArgReduceOp op, F&& f) {
  if (op == ArgReduceOp::ArgMax) return f(ArgExtreme<true>{});
  return f(ArgExtreme<false>{});
}

}  // namespace kiln::functors
