// Median wall time of a callable, for the CPU benchmarks that time whole
// computations themselves (interleaved with a peer, outside Google Benchmark).
#pragma once
#include <algorithm>
#include <chrono>
#include <vector>

namespace kiln::bench {

// Two untimed warm-up calls, then the median of `reps` timed calls, in ms.
template <class F>
double median_ms(F&& f, int reps) {
  f();
  f();
  std::vector<double> ms;
  for (int i = 0; i < reps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace kiln::bench
