// The online softmax statistics of a row (Milakov & Gimelshein 2018): one
// pass keeps the running max m and the sum s of exp(x - m), rescaling s when
// m grows; partial (m, s) pairs from threads, warps, blocks or tiles combine
// by the same rule. Written once for both devices (KILN_HD): softmax.cu and
// cross_entropy.cu use it per row, attention (kernels/attention.cu and the
// CPU's src/cpu/attention_cpu.cpp) per tile of scores, where the same
// rescale factor also rescales the running output.
// A row of all -inf uses m = 0 (exp(x - m) is then 0, not NaN), as the CPU.
#pragma once
#include <limits>

#include "functors/math.h"

namespace kiln::functors {

template <class V>
struct MaxSum {
  V m;  // running max
  V s;  // sum of exp(x - m)
};

template <class V> KILN_HD inline V neg_inf() { return -std::numeric_limits<V>::infinity(); }
template <class V> KILN_HD inline MaxSum<V> max_sum_identity() { return MaxSum<V>{neg_inf<V>(), V(0)}; }

// s measured against m_old, re-measured against m_new >= m_old (0 when
// m_old is -inf and m_new is not: nothing was summed yet).
template <class V>
KILN_HD inline V rescale(V s, V m_old, V m_new) {
  return m_old == m_new ? s : s * exp_(m_old - m_new);
}

template <class V>
KILN_HD inline void online_add(MaxSum<V>& a, V x) {
  if (x > a.m) {
    a.s = rescale(a.s, a.m, x);
    a.m = x;
  }
  a.s += x == neg_inf<V>() ? V(0) : exp_(x - a.m);
}

template <class V>
KILN_HD inline MaxSum<V> combine_max_sum(MaxSum<V> a, MaxSum<V> b) {
  const V m = b.m > a.m ? b.m : a.m;
  return MaxSum<V>{m, rescale(a.s, a.m, m) + rescale(b.s, b.m, m)};
}

// What softmax subtracts before exp: the max, or 0 for an all -inf row.
template <class V> KILN_HD inline V shift_of(MaxSum<V> a) { return a.m == neg_inf<V>() ? V(0) : a.m; }
// log sum exp of the row (-inf for an all -inf row).
template <class V> KILN_HD inline V logsumexp_of(MaxSum<V> a) { return log_(a.s) + shift_of(a); }

}  // namespace kiln::functors
