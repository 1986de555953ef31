// CPU layer norm and RMS norm over the rows of a contiguous [R, n] tensor,
// forward and fused backward, in opmath (f32 for f16/bf16, f64 for f64).
// Forward: two passes over the row (mean, then the centred sum of squares)
// and one to write. Backward, per row as llm.c's layernorm_backward: one
// pass for the two row means of dnorm = gy*w and dnorm*xhat, one to write
// gx = (dnorm - mean(dnorm) - xhat*mean(dnorm*xhat)) * rstd and to add
// gy*xhat and gy to this thread's partial gw and gb. Partials are summed in
// thread order, so the result does not depend on timing.
#include <cmath>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/lane_sum.h"
#include "cpu/parallel.h"

namespace kiln::cpu {

namespace {

// Threads for `rows` rows of `n`: one below the pool's grain.
int threads_for(int64_t rows, int64_t n) {
  const int64_t t = rows * n >= kPoolGrain ? pool_threads() : 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(t, rows)));
}

template <class T>
void forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool rms, Tensor& out,
             Tensor& mean, Tensor& rstd) {
  using V = opmath_t<T>;
  const int64_t R = x.size(0), n = x.size(1);
  const T* xp = static_cast<const T*>(x.raw_data_ptr());
  const T* wp = weight.defined() ? static_cast<const T*>(weight.raw_data_ptr()) : nullptr;
  const T* bp = bias.defined() ? static_cast<const T*>(bias.raw_data_ptr()) : nullptr;
  T* yp = static_cast<T*>(out.raw_data_ptr());
  V* mp = rms ? nullptr : static_cast<V*>(mean.raw_data_ptr());
  V* rp = static_cast<V*>(rstd.raw_data_ptr());
  parallel_ranges(R, R * n, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = xp + r * n;
      T* yr = yp + r * n;
      V m = 0;
      if (!rms) m = lane_sum<V>(n, [xr](int64_t i) { return static_cast<V>(xr[i]); }) / static_cast<V>(n);
      const V ss = lane_sum<V>(n, [xr, m](int64_t i) {
        const V d = static_cast<V>(xr[i]) - m;
        return d * d;
      });
      const V s = V(1) / std::sqrt(ss / static_cast<V>(n) + static_cast<V>(eps));
      if (mp) mp[r] = m;
      rp[r] = s;
      if (wp && bp) {  // the usual affine norm, branch-free so that it vectorises
        for (int64_t i = 0; i < n; ++i)
          yr[i] = static_cast<T>((static_cast<V>(xr[i]) - m) * s * static_cast<V>(wp[i]) + static_cast<V>(bp[i]));
      } else {
        for (int64_t i = 0; i < n; ++i) {
          V y = (static_cast<V>(xr[i]) - m) * s;
          if (wp) y *= static_cast<V>(wp[i]);
          if (bp) y += static_cast<V>(bp[i]);
          yr[i] = static_cast<T>(y);
        }
      }
    }
  });
}

template <class T>
void backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& mean, const Tensor& rstd,
              bool rms, Tensor& gx, Tensor& gw, Tensor& gb) {
  using V = opmath_t<T>;
  const int64_t R = x.size(0), n = x.size(1);
  const T* xp = static_cast<const T*>(x.raw_data_ptr());
  const T* gp = static_cast<const T*>(gy.raw_data_ptr());
  const T* wp = weight.defined() ? static_cast<const T*>(weight.raw_data_ptr()) : nullptr;
  const V* mp = rms ? nullptr : static_cast<const V*>(mean.raw_data_ptr());
  const V* rp = static_cast<const V*>(rstd.raw_data_ptr());
  T* gxp = gx.defined() ? static_cast<T*>(gx.raw_data_ptr()) : nullptr;
  const bool want_w = gw.defined(), want_b = gb.defined();
  const int threads = threads_for(R, n);
  // Per-thread partial sums of gy*xhat (gw) and gy (gb).
  std::vector<std::vector<V>> pw(want_w ? threads : 0, std::vector<V>(n, V(0)));
  std::vector<std::vector<V>> pb(want_b ? threads : 0, std::vector<V>(n, V(0)));
  parallel_run(threads, [&](int t) {
    const int64_t begin = R * t / threads, end = R * (t + 1) / threads;
    for (int64_t r = begin; r < end; ++r) {
      const T* xr = xp + r * n;
      const T* gr = gp + r * n;
      const V m = mp ? mp[r] : V(0), s = rp[r];
      auto d_at = [gr, wp](int64_t i) { return static_cast<V>(gr[i]) * (wp ? static_cast<V>(wp[i]) : V(1)); };
      auto [mean_d, mean_dx] = lane_sum2<V>(
          n, d_at, [&](int64_t i) { return d_at(i) * ((static_cast<V>(xr[i]) - m) * s); });
      mean_d /= static_cast<V>(n);
      mean_dx /= static_cast<V>(n);
      if (rms) mean_d = 0;  // RMS norm subtracts no mean, so its gradient has no such term
      // One loop per output, each without branches: with the three stores
      // and their conditions in one body the loop ran scalar.
      if (gxp) {
        T* gxr = gxp + r * n;
        if (wp) {
          for (int64_t i = 0; i < n; ++i) {
            const V xhat = (static_cast<V>(xr[i]) - m) * s;
            const V d = static_cast<V>(gr[i]) * static_cast<V>(wp[i]);
            gxr[i] = static_cast<T>((d - mean_d - xhat * mean_dx) * s);
          }
        } else {
          for (int64_t i = 0; i < n; ++i) {
            const V xhat = (static_cast<V>(xr[i]) - m) * s;
            gxr[i] = static_cast<T>((static_cast<V>(gr[i]) - mean_d - xhat * mean_dx) * s);
          }
        }
      }
      if (want_w) {
        V* w_part = pw[t].data();
        for (int64_t i = 0; i < n; ++i) w_part[i] += static_cast<V>(gr[i]) * ((static_cast<V>(xr[i]) - m) * s);
      }
      if (want_b) {
        V* b_part = pb[t].data();
        for (int64_t i = 0; i < n; ++i) b_part[i] += static_cast<V>(gr[i]);
      }
    }
  });
  auto finish = [n](std::vector<std::vector<V>>& parts, Tensor& dst) {
    T* out = static_cast<T*>(dst.raw_data_ptr());
    for (int64_t i = 0; i < n; ++i) {
      V acc = 0;
      for (const auto& p : parts) acc += p[i];
      out[i] = static_cast<T>(acc);
    }
  };
  if (want_w) finish(pw, gw);
  if (want_b) finish(pb, gb);
}

}  // namespace

void CpuBackend::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool rms,
                                    Tensor& out, Tensor& mean, Tensor& rstd) {
  visit_floating(x.dtype(), rms ? "rms_norm" : "layer_norm", [&](auto tag) {
    forward<decltype(tag)>(x, weight, bias, eps, rms, out, mean, rstd);
  });
}

void CpuBackend::layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                     const Tensor& rstd, bool rms, Tensor& gx, Tensor& gw, Tensor& gb) {
  visit_floating(x.dtype(), rms ? "rms_norm_backward" : "layer_norm_backward", [&](auto tag) {
    backward<decltype(tag)>(gy, x, weight, mean, rstd, rms, gx, gw, gb);
  });
}

}  // namespace kiln::cpu
