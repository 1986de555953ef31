// CPU batch norm over x [N,C] or [N,C,H,W] (contiguous): statistics per
// channel c over N and H*W, saved in f32 (f64 for f64 x). Threads (cpu/parallel.h) split channels; each
// channel's data is N contiguous runs of H*W values. Sums accumulate in double (f64 input) or
// float's opmath widened to double, so large batches stay accurate.
//   forward (training): mean, biased var -> invstd = 1/sqrt(var + eps);
//     running = (1-momentum)*running + momentum*stat (variance unbiased).
//   backward (training): xhat = (x-mean)*invstd,
//     gx = w*invstd * (gy - mean(gy) - xhat*mean(gy*xhat)), gw = sum(gy*xhat), gb = sum(gy).
//   backward (eval): gx = gy*w*invstd, same gw/gb with the running stats.
// Both normalise as y = x*scale + shift with scale and shift computed from
// the saved (rounded) statistics, so the backward of batch_norm_relu can
// recompute relu's mask from x bit for bit instead of reading the output:
//   forward (relu): y = relu(x*scale + shift), in the same pass;
//   backward (relu): gy -> gy * [y > 0] inside both of its passes.
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

// One channel's y = x*scale + shift, from the saved statistics.
template <class A>
struct ChannelAffine {
  A scale, shift;
  // Rounded the same way in the forward and in the backward: a fused
  // multiply-add where the target has one, else a multiply and an add
  // (and then there is no FMA for the compiler to contract them into).
  A operator()(A x) const {
#if defined(__FMA__)
    return std::fma(x, scale, shift);
#else
    return x * scale + shift;
#endif
  }
};
template <class A, class S>
ChannelAffine<A> channel_affine(S mean, S invstd, double w, double b) {
  const double k = w * static_cast<double>(invstd);
  return {static_cast<A>(k), static_cast<A>(b - static_cast<double>(mean) * k)};
}

// relu(v) as the elementwise relu computes it on the rounded value (NaN
// stays NaN); its gradient mask is [relu(v) > 0], taken after rounding to T
// so that a value too small for T masks as the unfused op does.
template <class T, class A>
T relu_rounded(A v) {
  return static_cast<T>(functors::Relu{}(v));
}

template <class T>
void bn_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean, Tensor& running_var,
                bool training, double momentum, double eps, bool relu, Tensor& out, Tensor& save_mean,
                Tensor& save_invstd) {
  using acc_t = opmath_t<T>;
  const Layout L = layout(x);
  const T* xp = x.data_ptr<T>();
  T* yp = out.data_ptr<T>();
  T* rm = running_mean.defined() ? running_mean.data_ptr<T>() : nullptr;
  T* rv = running_var.defined() ? running_var.data_ptr<T>() : nullptr;
  using S = opmath_t<T>;  // the statistics' dtype: f32, or f64 for f64 input
  S* sm = save_mean.data_ptr<S>();  // written in training, read in eval
  S* si = save_invstd.data_ptr<S>();
  const int64_t count = L.N * L.HW;
  parallel_ranges(L.C, x.numel(), [&](int64_t c_begin, int64_t c_end) {
    for (int64_t c = c_begin; c < c_end; ++c) {
      if (training) {
        double mean, invstd;
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
      }
      const ChannelAffine<acc_t> f = channel_affine<acc_t>(sm[c], si[c], static_cast<double>(value_or<T>(weight, c, 1.0)),
                                                           static_cast<double>(value_or<T>(bias, c, 0.0)));
      for (int64_t n = 0; n < L.N; ++n) {
        const T* row = xp + (n * L.C + c) * L.HW;
        T* orow = yp + (n * L.C + c) * L.HW;
        if (relu) {
          for (int64_t i = 0; i < L.HW; ++i) orow[i] = relu_rounded<T>(f(static_cast<acc_t>(row[i])));
        } else {
          for (int64_t i = 0; i < L.HW; ++i) orow[i] = static_cast<T>(f(static_cast<acc_t>(row[i])));
        }
      }
    }
  });
}

template <class T>
void bn_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                 const Tensor& save_invstd, bool training, const Tensor& relu_bias, bool relu, Tensor& gx, Tensor& gw,
                 Tensor& gb) {
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
      // With relu, the gradient reaching the batch norm is gy where relu's
      // output was positive, else 0; that output is recomputed from x.
      const ChannelAffine<acc_t> f =
          relu ? channel_affine<acc_t>(sm[c], si[c], static_cast<double>(value_or<T>(weight, c, 1.0)),
                                       static_cast<double>(value_or<T>(relu_bias, c, 0.0)))
               : ChannelAffine<acc_t>{};
      auto masked = [f](T g, T x) {
        return static_cast<acc_t>(relu_rounded<T>(f(static_cast<acc_t>(x)))) > acc_t(0) ? static_cast<acc_t>(g)
                                                                                        : acc_t(0);
      };
      // sum(gy) and sum(gy * (x - mean)), per channel.
      double sum_gy = 0, sum_gy_xmu = 0;
      for (int64_t n = 0; n < L.N; ++n) {
        const T* xr = xp + (n * L.C + c) * L.HW;
        const T* gr = gyp + (n * L.C + c) * L.HW;
        const auto [a, b] =
            relu ? lane_sum2<acc_t>(
                       L.HW, [gr, xr, masked](int64_t i) { return masked(gr[i], xr[i]); },
                       [gr, xr, mean, masked](int64_t i) {
                         return masked(gr[i], xr[i]) * (static_cast<acc_t>(xr[i]) - mean);
                       })
                 : lane_sum2<acc_t>(
                       L.HW, [gr](int64_t i) { return static_cast<acc_t>(gr[i]); },
                       [gr, xr, mean](int64_t i) {
                         return static_cast<acc_t>(gr[i]) * (static_cast<acc_t>(xr[i]) - mean);
                       });
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
          if (relu) {
            for (int64_t i = 0; i < L.HW; ++i)
              o[i] = static_cast<T>(a * (masked(gr[i], xr[i]) - mg) - b * (static_cast<acc_t>(xr[i]) - mean));
          } else {
            for (int64_t i = 0; i < L.HW; ++i)
              o[i] = static_cast<T>(a * (static_cast<acc_t>(gr[i]) - mg) - b * (static_cast<acc_t>(xr[i]) - mean));
          }
        }
      } else {
        const acc_t a = static_cast<acc_t>(w * static_cast<double>(invstd));
        for (int64_t n = 0; n < L.N; ++n) {
          const T* xr = xp + (n * L.C + c) * L.HW;
          const T* gr = gyp + (n * L.C + c) * L.HW;
          T* o = gxp + (n * L.C + c) * L.HW;
          if (relu) {
            for (int64_t i = 0; i < L.HW; ++i) o[i] = static_cast<T>(a * masked(gr[i], xr[i]));
          } else {
            for (int64_t i = 0; i < L.HW; ++i) o[i] = static_cast<T>(a * static_cast<acc_t>(gr[i]));
          }
        }
      }
    }
  });
}

}  // namespace

void CpuBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                    Tensor& running_var, bool training, double momentum, double eps, bool relu,
                                    Tensor& out, Tensor& save_mean, Tensor& save_invstd) {
  visit_floating(x.dtype(), "batch_norm", [&](auto t) {
    bn_forward<decltype(t)>(x, weight, bias, running_mean, running_var, training, momentum, eps, relu, out,
                            save_mean, save_invstd);
  });
}

void CpuBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& bias,
                                     const Tensor& save_mean, const Tensor& save_invstd, bool training,
                                     double /*eps: the saved invstd has it*/, const Tensor& relu_out, Tensor& gx,
                                     Tensor& gw, Tensor& gb) {
  // relu_out is not read: its mask is recomputed from x (see the top).
  visit_floating(x.dtype(), "batch_norm_backward", [&](auto t) {
    bn_backward<decltype(t)>(gy, x, weight, save_mean, save_invstd, training, bias, relu_out.defined(), gx, gw, gb);
  });
}

}  // namespace kiln::cpu
