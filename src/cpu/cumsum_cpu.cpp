// CPU cumsum over n of a contiguous tensor seen as [outer, n, inner]:
// floating sums in f64 (like the CPU's reductions), integers in int64,
// rounded to the output type element by element.
#include <type_traits>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"
#include "kiln/core/convert.h"

namespace kiln::cpu {

void CpuBackend::cumsum(const Tensor& x, const detail::RowGeometry& g, bool reverse, Tensor& out) {
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    using Acc = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, double, int64_t>;
    const T* xp = static_cast<const T*>(x.raw_data_ptr());
    T* yp = static_cast<T*>(out.raw_data_ptr());
    const int64_t lines = g.outer * g.inner;
    parallel_ranges(lines, lines * g.n, [&](int64_t begin, int64_t end) {
      for (int64_t r = begin; r < end; ++r) {
        const int64_t base = (r / g.inner) * g.n * g.inner + r % g.inner;
        Acc acc = 0;
        for (int64_t step = 0; step < g.n; ++step) {
          const int64_t k = reverse ? g.n - 1 - step : step;
          const int64_t j = base + k * g.inner;
          acc += static_cast<Acc>(static_cast<opmath_t<T>>(xp[j]));
          if constexpr (std::is_floating_point_v<Acc>) yp[j] = static_cast<T>(static_cast<opmath_t<T>>(acc));
          else yp[j] = convert<T>(acc);
        }
      }
    });
  });
}

}  // namespace kiln::cpu
