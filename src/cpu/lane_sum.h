// Row sums in independent partial sums, so that the compiler vectorises
// them: a single running sum is a serial dependency chain that it may not
// reorder (no -ffast-math), one add's latency per element.
#pragma once
#include <cstdint>
#include <utility>

namespace kiln::cpu {

// 32 float lanes are two AVX-512 (four AVX2) accumulators, which GCC keeps
// in registers; with 8 it shuffled lanes between half-filled registers, and
// forward + backward of the wide CNN's [64, 32, 28, 28] batch norm took 2.65
// ms against 1.47 ms with 32 (16: 2.25, 64: 1.52; medians of 40 on the
// Emerald Rapids Xeon).
constexpr int64_t kLanes = 32;

// The sum of f(i) for i in [0, n); f(i) gives the i-th term in the
// accumulator type A.
template <class A, class F>
inline A lane_sum(int64_t n, F f) {
  A l[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes)
    for (int64_t k = 0; k < kLanes; ++k) l[k] += f(i + k);
  for (; i < n; ++i) l[0] += f(i);
  A s = 0;
  for (int64_t k = 0; k < kLanes; ++k) s += l[k];
  return s;
}
// Two sums in one sweep: (sum f(i), sum g(i)).
template <class A, class F, class G>
inline std::pair<A, A> lane_sum2(int64_t n, F f, G g) {
  A a[kLanes] = {}, b[kLanes] = {};
  int64_t i = 0;
  for (; i + kLanes <= n; i += kLanes) {
    for (int64_t k = 0; k < kLanes; ++k) {
      a[k] += f(i + k);
      b[k] += g(i + k);
    }
  }
  for (; i < n; ++i) {
    a[0] += f(i);
    b[0] += g(i);
  }
  A sa = 0, sb = 0;
  for (int64_t k = 0; k < kLanes; ++k) {
    sa += a[k];
    sb += b[k];
  }
  return {sa, sb};
}

}  // namespace kiln::cpu
