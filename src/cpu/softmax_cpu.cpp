// CPU softmax / log_softmax over n of a contiguous tensor seen as [outer, n,
// inner] (the op computes the geometry), in opmath, with the max subtracted
// for stability.
#include <cmath>

#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "functors/math.h"

namespace kiln::cpu {

void CpuBackend::softmax_forward(const Tensor& x, const detail::RowGeometry& g, bool log, Tensor& out) {
  visit_floating(x.dtype(), log ? "log_softmax" : "softmax", [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const T* xp = static_cast<const T*>(x.raw_data_ptr());
    T* yp = static_cast<T*>(out.raw_data_ptr());
#pragma omp parallel for schedule(static) if (g.outer * g.n * g.inner >= kParallelGrain)
    for (int64_t r = 0; r < g.outer * g.inner; ++r) {
      const int64_t o = r / g.inner, i = r % g.inner;
      const T* xr = xp + o * g.n * g.inner + i;
      T* yr = yp + o * g.n * g.inner + i;
      V m = -std::numeric_limits<V>::infinity();
      for (int64_t k = 0; k < g.n; ++k) m = std::max(m, static_cast<V>(xr[k * g.inner]));
      if (m == -std::numeric_limits<V>::infinity()) m = 0;  // all -inf: avoid inf - inf
      V sum = 0;
      for (int64_t k = 0; k < g.n; ++k) sum += functors::exp_(static_cast<V>(xr[k * g.inner]) - m);
      if (log) {
        const V lse = functors::log_(sum) + m;
        for (int64_t k = 0; k < g.n; ++k) yr[k * g.inner] = static_cast<T>(static_cast<V>(xr[k * g.inner]) - lse);
      } else {
        const V inv = V(1) / sum;
        for (int64_t k = 0; k < g.n; ++k)
          yr[k * g.inner] = static_cast<T>(functors::exp_(static_cast<V>(xr[k * g.inner]) - m) * inv);
      }
    }
  });
}

void CpuBackend::softmax_backward(const Tensor& y, const Tensor& gy, const detail::RowGeometry& g, bool log,
                                  Tensor& gx) {
  visit_floating(y.dtype(), log ? "log_softmax_backward" : "softmax_backward", [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const T* yp = static_cast<const T*>(y.raw_data_ptr());
    const T* gp = static_cast<const T*>(gy.raw_data_ptr());
    T* op = static_cast<T*>(gx.raw_data_ptr());
#pragma omp parallel for schedule(static) if (g.outer * g.n * g.inner >= kParallelGrain)
    for (int64_t r = 0; r < g.outer * g.inner; ++r) {
      const int64_t base = (r / g.inner) * g.n * g.inner + r % g.inner;
      V dot = 0;
      // softmax: gx = y (gy - sum(gy y));  log_softmax: gx = gy - exp(y) sum(gy)
      for (int64_t k = 0; k < g.n; ++k) {
        const int64_t j = base + k * g.inner;
        dot += log ? static_cast<V>(gp[j]) : static_cast<V>(gp[j]) * static_cast<V>(yp[j]);
      }
      for (int64_t k = 0; k < g.n; ++k) {
        const int64_t j = base + k * g.inner;
        const V yv = static_cast<V>(yp[j]), gv = static_cast<V>(gp[j]);
        op[j] = static_cast<T>(log ? gv - functors::exp_(yv) * dot : yv * (gv - dot));
      }
    }
  });
}

}  // namespace kiln::cpu
