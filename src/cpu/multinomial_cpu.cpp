// CPU multinomial: each row's weights widened to f64, checked, and drawn
// from by functors/multinomial.h (the chunked cumulative sums the CUDA
// kernel computes in the same order), one Philox double per draw.
#include <algorithm>
#include <atomic>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "functors/multinomial.h"
#include "functors/philox.h"

namespace kiln::cpu {

void CpuBackend::multinomial(const Tensor& weights, int64_t num_samples, bool replacement, const GeneratorState& state,
                             Tensor& out, Tensor& errors) {
  const int64_t R = weights.size(0), n = weights.size(1), S = num_samples;
  const int64_t chunks = functors::multinomial_chunks(n);
  int64_t* op = static_cast<int64_t*>(out.raw_data_ptr());
  std::atomic<int64_t> bad_count{0}, bad_row{-1};
  visit_floating(weights.dtype(), "multinomial", [&](auto tag) {
    using T = decltype(tag);
    const T* wp = static_cast<const T*>(weights.raw_data_ptr());
    parallel_ranges(R, R * (n + S * functors::kMultinomialChunk), [&](int64_t begin, int64_t end) {
      std::vector<double> w(static_cast<size_t>(n)), sums(static_cast<size_t>(chunks)), base(static_cast<size_t>(chunks));
      for (int64_t r = begin; r < end; ++r) {
        for (int64_t i = 0; i < n; ++i) w[i] = static_cast<double>(static_cast<opmath_t<T>>(wp[r * n + i]));
        int64_t* o = op + r * S;
        if (!functors::multinomial_row_ok(w.data(), n, replacement ? 1 : S)) {
          std::fill(o, o + S, int64_t{0});
          // Keep the lowest bad row, so the message does not depend on timing.
          bad_count.fetch_add(1);
          int64_t seen = bad_row.load();
          while ((seen < 0 || r < seen) && !bad_row.compare_exchange_weak(seen, r)) {
          }
          continue;
        }
        for (int64_t c = 0; c < chunks; ++c) sums[c] = functors::multinomial_chunk_sum(w.data(), n, c);
        double total = functors::multinomial_bases(sums.data(), chunks, base.data());
        for (int64_t s = 0; s < S; ++s) {
          const double u =
              functors::uniform_double(functors::philox_pair(state.seed, state.offset, static_cast<uint64_t>(r * S + s)));
          const int64_t pick = functors::multinomial_pick(w.data(), n, sums.data(), base.data(), chunks, total, u);
          o[s] = pick;
          if (!replacement) {
            w[pick] = 0;
            const int64_t c = pick / functors::kMultinomialChunk;
            sums[c] = functors::multinomial_chunk_sum(w.data(), n, c);
            total = functors::multinomial_bases(sums.data(), chunks, base.data());
          }
        }
      }
    });
  });
  int64_t* e = static_cast<int64_t*>(errors.raw_data_ptr());
  e[0] = bad_count.load();
  e[1] = bad_row.load() < 0 ? 0 : bad_row.load();
}

}  // namespace kiln::cpu
