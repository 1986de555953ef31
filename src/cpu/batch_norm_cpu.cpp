// CPU batch norm over x [N,C] or [N,C,H,W] (contiguous): statistics per
// channel c over N and H*W, saved in f32 (f64 for f64 x). Threads (cpu/parallel.h) split channels; each
// channel's data is N contiguous runs of H*W values. Sums accumulate in double (f64 input) or
// float's opmath widened to double, so large batches stay accurate.
//   forward (training): mean, biased var -> invstd = 1/sqrt(var + eps);
//     running = (1-momentum)*running + momentum*stat (variance unbiased).
//   backward (training): xhat = (x-mean)*invstd,
//     gx = w*invstd * (gy - mean(gy) - xhat*mean(gy*xhat)), gw = sum(gy*xhat), gb = sum(gy).
//   backward (eval): gx = gy*w*invstd, same gw/gb with the running stats.
#include <cmath>
#include <utility>

#include "cpu/cpu_backend.h"
#include "cpu/lane_sum.h"
#include "cpu/loops.h"
#include "cpu/parallel.h"

namespace kiln::cpu {

namespace {

struct Layout {
  int64_t N, C, HW;
};
Layout layout(const Tensor& x) { return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1}; }

template <class T>
T value_or(const Tensor& t, int64_t c, double fallback) {
  return t.defined() ? t.data_ptr<T>()[c] : static_cast<T>(fallback);
}

template <class T>
void bn_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean, Tensor& running_var,
                bool training, double momentum, double eps, Tensor& out, Tensor& save_mean, Tensor& save_invstd) {
  using acc_t = opmath_t<T>;
  const Layout L = layout(x);
  const T* xp = x.data_ptr<T>();
  T* yp = out.data_ptr<T>();
  T* rm = running_mean.defined() ? running_mean.data_ptr<T>() : nullptr;
  T* rv = running_var.defined() ? running_var.data_ptr<T>() : nullptr;
  using S = opmath_t<T>;  // the statistics' dtype: f32, or f64 for f64 input
  S* sm = training ? save_mean.data_ptr<S>() : nullptr;
  S* si = training ? save_invstd.data_ptr<S>() : nullptr;
  const int64_t count = L.N * L.HW;
  parallel_ranges(L.C, x.numel(), [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      double mean, invstd;
      if (training) {
        double s = 0;
        for (int64_t n = 0; n < L.N; ++n) {
          const T* row = xp + (n * L.C + c) * L.HW;
          s += static_cast<double>(lane_sum<acc_t>(L.HW, [row](int64_t i) { return static_cast<acc_t>(row[i]); }));
        }
        mean = s / static_cast<double>(count);
        double ss = 0;
        const acc_t m = static_cast<acc_t>(mean);
        for (int64_t n = 0; n < L.N; ++n) {
          const T* row = xp + (n * L.C + c) * L.HW;
          ss += static_cast<double>(lane_sum<acc_t>(L.HW, [row, m](int64_t i) {
            const acc_t d = static_cast<acc_t>(row[i]) - m;
            return d * d;
          }));
        }
        const double var = ss / static_cast<double>(count);
        invstd = 1.0 / std::sqrt(var + eps);
        if (rm) {
          const double unbiased = count > 1 ? ss / static_cast<double>(count - 1) : var;
          rm[c] = static_cast<T>((1 - momentum) * static_cast<double>(rm[c]) + momentum * mean);
          rv[c] = static_cast<T>((1 - momentum) * static_cast<double>(rv[c]) + momentum * unbiased);
        }
        sm[c] = static_cast<S>(mean);
        si[c] = static_cast<S>(invstd);
      } else {
        mean = static_cast<double>(rm[c]);
        invstd = 1.0 / std::sqrt(static_cast<double>(rv[c]) + eps);
      }
      // y = x * scale + shift
      const double w = static_cast<double>(value_or<T>(weight, c, 1.0));
      const double b = static_cast<double>(value_or<T>(bias, c, 0.0));
      const acc_t scale = static_cast<acc_t>(w * invstd), shift = static_cast<acc_t>(b - mean * w * invstd);
      for (int64_t n = 0; n < L.N; ++n) {
        const T* row = xp + (n * L.C + c) * L.HW;
        T* orow = yp + (n * L.C + c) * L.HW;
        for (int64_t i = 0; i < L.HW; ++i) orow[i] = static_cast<T>(static_cast<acc_t>(row[i]) * scale + shift);
      }
    }
  });
}

template <class T>
void bn_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                 const Tensor& save_invstd, bool training, Tensor& gx, Tensor& gw, Tensor& gb) {
  using acc_t = opmath_t<T>;
  const Layout L = layout(x);
  const T* xp = x.data_ptr<T>();
  const T* gyp = gy.data_ptr<T>();
  using S = opmath_t<T>;  // the statistics' dtype
  const S* sm = save_mean.data_ptr<S>();
  const S* si = save_invstd.data_ptr<S>();
  T* gxp = gx.defined() ? gx.data_ptr<T>() : nullptr;
  const double count = static_cast<double>(L.N * L.HW);
  parallel_ranges(L.C, x.numel(), [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      const acc_t mean = static_cast<acc_t>(sm[c]), invstd = static_cast<acc_t>(si[c]);
      // sum(gy) and sum(gy * (x - mean)), per channel.
      double sum_gy = 0, sum_gy_xmu = 0;
      for (int64_t n = 0; n < L.N; ++n) {
        const T* xr = xp + (n * L.C + c) * L.HW;
        const T* gr = gyp + (n * L.C + c) * L.HW;
        const auto [a, b] = lane_sum2<acc_t>(
            L.HW, [gr](int64_t i) { return static_cast<acc_t>(gr[i]); },
            [gr, xr, mean](int64_t i) { return static_cast<acc_t>(gr[i]) * (static_cast<acc_t>(xr[i]) - mean); });
        sum_gy += static_cast<double>(a);
        sum_gy_xmu += static_cast<double>(b);
      }
      if (gb.defined()) gb.data_ptr<T>()[c] = static_cast<T>(sum_gy);
      if (gw.defined()) gw.data_ptr<T>()[c] = static_cast<T>(sum_gy_xmu * static_cast<double>(invstd));
      if (!gxp) continue;
      const double w = static_cast<double>(value_or<T>(weight, c, 1.0));
      if (training) {
        // gx = w*invstd*(gy - mean_gy) - (x - mean) * w*invstd^3 * mean(gy*(x-mean))
        const double k = w * static_cast<double>(invstd);
        const acc_t a = static_cast<acc_t>(k);
        const acc_t b = static_cast<acc_t>(k * static_cast<double>(invstd) * static_cast<double>(invstd) *
                                           sum_gy_xmu / count);
        const acc_t mg = static_cast<acc_t>(sum_gy / count);
        for (int64_t n = 0; n < L.N; ++n) {
          const T* xr = xp + (n * L.C + c) * L.HW;
          const T* gr = gyp + (n * L.C + c) * L.HW;
          T* o = gxp + (n * L.C + c) * L.HW;
          for (int64_t i = 0; i < L.HW; ++i)
            o[i] = static_cast<T>(a * (static_cast<acc_t>(gr[i]) - mg) - b * (static_cast<acc_t>(xr[i]) - mean));
        }
      } else {
        const acc_t a = static_cast<acc_t>(w * static_cast<double>(invstd));
        for (int64_t n = 0; n < L.N; ++n) {
          const T* gr = gyp + (n * L.C + c) * L.HW;
          T* o = gxp + (n * L.C + c) * L.HW;
          for (int64_t i = 0; i < L.HW; ++i) o[i] = static_cast<T>(a * static_cast<acc_t>(gr[i]));
        }
      }
    }
  });
}

}  // namespace

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                    Tensor& running_var, bool training, double momentum, double eps, Tensor& out,
                                    Tensor& save_mean, Tensor& save_invstd) {
  visit_floating(x.dtype(), "batch_norm", [&](auto t) {
    bn_forward<decltype(t)>(x, weight, bias, running_mean, running_var, training, momentum, eps, out, save_mean,
                            save_invstd);
  });
}

void CpuBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                     const Tensor& save_invstd, bool training, double /*eps: the saved invstd has it*/,
                                     Tensor& gx, Tensor& gw, Tensor& gb) {
  visit_floating(x.dtype(), "batch_norm_backward", [&](auto t) {
    bn_backward<decltype(t)>(gy, x, weight, save_mean, save_invstd, training, gx, gw, gb);
  });
}

}  // namespace kiln::cpu
