// Drawing category indices from a row of non-negative weights, written once
// for the CPU (src/cpu/multinomial_cpu.cpp) and CUDA (kernels/multinomial.cu)
// so that both devices draw the same indices from the same Philox numbers.
//
// The cumulative sums are in f64, in one fixed order that both devices
// follow: the row is cut into chunks of kMultinomialChunk weights; a chunk's
// sum adds its weights left to right; the chunk bases add the chunk sums
// left to right (base[0] = 0). The running sum at weight i of chunk c is
// base[c] + (w[c0] + ... + w[i]), so the sum at a chunk's last weight is
// exactly base[c + 1] and the sums never decrease. A draw u in [0, 1) picks
// the first i whose running sum exceeds u * total (such a weight is > 0).
// CUDA computes the chunk sums in parallel and the rest as the CPU does; all
// additions and the one multiplication are single roundings (no fused
// multiply-add: add_rn / mul_rn), so the two devices agree bit for bit.
//
// Without replacement, each draw zeroes the chosen weight and recomputes
// its chunk's sum and the bases (the same values a fresh computation
// gives), then draws from what is left.
#pragma once
#include <cstdint>

#include "functors/math.h"

namespace kiln::functors {

constexpr int64_t kMultinomialChunk = 256;

KILN_HD inline double add_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dadd_rn(a, b);
#else
  return a + b;
#endif
}
KILN_HD inline double mul_rn(double a, double b) {
#if defined(__CUDA_ARCH__)
  return __dmul_rn(a, b);
#else
  return a * b;
#endif
}

KILN_HD inline int64_t multinomial_chunks(int64_t n) { return (n + kMultinomialChunk - 1) / kMultinomialChunk; }

// Sum of chunk c of w[0, n), left to right.
KILN_HD inline double multinomial_chunk_sum(const double* w, int64_t n, int64_t c) {
  const int64_t begin = c * kMultinomialChunk;
  const int64_t end = begin + kMultinomialChunk < n ? begin + kMultinomialChunk : n;
  double s = 0;
  for (int64_t i = begin; i < end; ++i) s = add_rn(s, w[i]);
  return s;
}

// base[c] = sum of the chunk sums before c; returns the total.
KILN_HD inline double multinomial_bases(const double* sums, int64_t chunks, double* base) {
  double acc = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    base[c] = acc;
    acc = add_rn(acc, sums[c]);
  }
  return acc;
}

// The first i whose running sum exceeds u * total (see the top of the
// file); if rounding leaves none (u * total rounded up to total), the last
// positive weight.
KILN_HD inline int64_t multinomial_pick(const double* w, int64_t n, const double* sums, const double* base,
                                        int64_t chunks, double total, double u) {
  const double target = mul_rn(u, total);
  // The first chunk whose end, base[c] + sums[c] (= base[c + 1]), exceeds target.
  int64_t lo = 0, hi = chunks;
  while (lo < hi) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (add_rn(base[mid], sums[mid]) > target) hi = mid;
    else lo = mid + 1;
  }
  if (lo < chunks) {
    const int64_t begin = lo * kMultinomialChunk;
    const int64_t end = begin + kMultinomialChunk < n ? begin + kMultinomialChunk : n;
    double s = 0;
    for (int64_t i = begin; i < end; ++i) {
      s = add_rn(s, w[i]);
      if (add_rn(base[lo], s) > target) return i;
    }
  }
  for (int64_t i = n; i-- > 0;)
    if (w[i] > 0) return i;
  return 0;
}

// Whether a row can be drawn from: every weight finite and >= 0, a positive
// sum, and (without replacement) at least `needed` positive weights.
KILN_HD inline bool multinomial_row_ok(const double* w, int64_t n, int64_t needed) {
  int64_t positive = 0;
  for (int64_t i = 0; i < n; ++i) {
    const double x = w[i];
    if (!(x >= 0) || x > 1.7976931348623157e308) return false;  // negative, NaN or inf
    positive += x > 0;
  }
  return positive > 0 && positive >= needed;
}

}  // namespace kiln::functors
