// The online softmax statistics of a row (Milakov & Gimelshein 2018): one
// pass keeps the running max m and the sum s of exp(x - m), rescaling s when
// m grows; partial (m, s) pairs from threads, warps and blocks combine by the
// same rule. Used by softmax.cu and cross_entropy.cu (and, later, attention).
// A row of all -inf uses m = 0 (exp(x - m) is then 0, not NaN), as the CPU.
#pragma once
#include <limits>

#include "functors/math.h"

namespace kiln::kernels {

template <class V>
struct MaxSum {
  V m;  // running max
  V s;  // sum of exp(x - m)
};

template <class V> __device__ inline V neg_inf() { return -std::numeric_limits<V>::infinity(); }
template <class V> __device__ inline MaxSum<V> max_sum_identity() { return MaxSum<V>{neg_inf<V>(), V(0)}; }

// s measured against m_old, re-measured against m_new >= m_old.
template <class V>
__device__ inline V rescale(V s, V m_old, V m_new) {
  return m_old == m_new ? s : s * functors::exp_(m_old - m_new);
}

template <class V>
__device__ inline void online_add(MaxSum<V>& a, V x) {
  if (x > a.m) {
    a.s = rescale(a.s, a.m, x);
    a.m = x;
  }
  a.s += x == neg_inf<V>() ? V(0) : functors::exp_(x - a.m);
}

template <class V>
__device__ inline MaxSum<V> combine_max_sum(MaxSum<V> a, MaxSum<V> b) {
  const V m = b.m > a.m ? b.m : a.m;
  return MaxSum<V>{m, rescale(a.s, a.m, m) + rescale(b.s, b.m, m)};
}

// For warp_allreduce / block_allreduce (common/reduce.cuh).
template <class V>
struct CombineMaxSum {
  __device__ MaxSum<V> operator()(MaxSum<V> a, MaxSum<V> b) const { return combine_max_sum(a, b); }
};

// What softmax subtracts before exp: the max, or 0 for an all -inf row.
template <class V> __device__ inline V shift_of(MaxSum<V> a) { return a.m == neg_inf<V>() ? V(0) : a.m; }
// log sum exp of the row.
template <class V> __device__ inline V logsumexp_of(MaxSum<V> a) { return functors::log_(a.s) + shift_of(a); }

}  // namespace kiln::kernels
