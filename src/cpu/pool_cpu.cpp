// CPU max/avg pooling over NCHW planes. Every (n, c) plane is independent,
// so OpenMP splits the N*C planes; the inner loops walk contiguous rows.
// f16/bf16 compute in float (opmath) and round the result once.
#include <cmath>
#include <limits>

#include "cpu/cpu_backend.h"
#include "cpu/loops.h"

namespace kiln::cpu {

namespace {

struct PlaneGeometry {
  int64_t planes, H, W, Ho, Wo;
};
PlaneGeometry geometry(const Tensor& x, const Tensor& y) {
  return {x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3)};
}

template <class T>
void max_pool_fwd(const Tensor& x, const detail::Pool2dParams& p, Tensor& out, Tensor& indices) {
  using acc_t = opmath_t<T>;
  const PlaneGeometry g = geometry(x, out);
  const T* xp = x.data_ptr<T>();
  T* yp = out.data_ptr<T>();
  int64_t* ip = indices.data_ptr<int64_t>();
  const auto [kh, kw] = p.kernel;
  const auto [sh, sw] = p.stride;
  const auto [ph, pw] = p.padding;
#pragma omp parallel for schedule(static) if (g.planes * g.Ho * g.Wo * kh * kw > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    const T* xpl = xp + plane * g.H * g.W;
    T* ypl = yp + plane * g.Ho * g.Wo;
    int64_t* ipl = ip + plane * g.Ho * g.Wo;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      const int64_t hs = std::max<int64_t>(oh * sh - ph, 0), he = std::min<int64_t>(oh * sh - ph + kh, g.H);
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const int64_t ws = std::max<int64_t>(ow * sw - pw, 0), we = std::min<int64_t>(ow * sw - pw + kw, g.W);
        acc_t best = -std::numeric_limits<acc_t>::infinity();
        int64_t best_i = hs * g.W + ws;
        for (int64_t h = hs; h < he; ++h) {
          for (int64_t w = ws; w < we; ++w) {
            const acc_t v = static_cast<acc_t>(xpl[h * g.W + w]);
            if (v > best || std::isnan(v)) {  // NaN propagates, as in PyTorch
              best = v;
              best_i = h * g.W + w;
              if (std::isnan(v)) goto done;
            }
          }
        }
      done:
        ypl[oh * g.Wo + ow] = static_cast<T>(best);
        ipl[oh * g.Wo + ow] = best_i;
      }
    }
  }
}

template <class T>
void max_pool_bwd(const Tensor& gy, const Tensor& indices, Tensor& gx) {
  using acc_t = opmath_t<T>;
  const int64_t planes = gx.size(0) * gx.size(1), HW = gx.size(2) * gx.size(3);
  const int64_t out_hw = gy.size(2) * gy.size(3);
  const T* gyp = gy.data_ptr<T>();
  const int64_t* ip = indices.data_ptr<int64_t>();
  T* gxp = gx.data_ptr<T>();
#pragma omp parallel for schedule(static) if (planes * HW > kParallelGrain)
  for (int64_t plane = 0; plane < planes; ++plane) {
    T* gpl = gxp + plane * HW;
    if constexpr (std::is_same_v<T, acc_t>) {
      for (int64_t i = 0; i < HW; ++i) gpl[i] = T(0);
      for (int64_t i = 0; i < out_hw; ++i) gpl[ip[plane * out_hw + i]] += gyp[plane * out_hw + i];
    } else {
      std::vector<acc_t> acc(static_cast<size_t>(HW), acc_t(0));
      for (int64_t i = 0; i < out_hw; ++i)
        acc[static_cast<size_t>(ip[plane * out_hw + i])] += static_cast<acc_t>(gyp[plane * out_hw + i]);
      for (int64_t i = 0; i < HW; ++i) gpl[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
    }
  }
}

// The window of output (oh, ow) clipped to the input, and its divisor.
struct AvgWindow {
  int64_t hs, he, ws, we, divisor;
};
inline AvgWindow avg_window(const detail::Pool2dParams& p, int64_t H, int64_t W, int64_t oh, int64_t ow) {
  int64_t hs = oh * p.stride[0] - p.padding[0], ws = ow * p.stride[1] - p.padding[1];
  int64_t he = std::min(hs + p.kernel[0], H + p.padding[0]), we = std::min(ws + p.kernel[1], W + p.padding[1]);
  const int64_t padded_size = (he - hs) * (we - ws);
  hs = std::max<int64_t>(hs, 0);
  ws = std::max<int64_t>(ws, 0);
  he = std::min(he, H);
  we = std::min(we, W);
  const int64_t divisor = p.count_include_pad ? padded_size : (he - hs) * (we - ws);
  return {hs, he, ws, we, divisor};
}

template <class T>
void avg_pool_fwd(const Tensor& x, const detail::Pool2dParams& p, Tensor& out) {
  using acc_t = opmath_t<T>;
  const PlaneGeometry g = geometry(x, out);
  const T* xp = x.data_ptr<T>();
  T* yp = out.data_ptr<T>();
#pragma omp parallel for schedule(static) if (g.planes * g.Ho * g.Wo * p.kernel[0] * p.kernel[1] > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    const T* xpl = xp + plane * g.H * g.W;
    T* ypl = yp + plane * g.Ho * g.Wo;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const AvgWindow win = avg_window(p, g.H, g.W, oh, ow);
        acc_t s = 0;
        for (int64_t h = win.hs; h < win.he; ++h)
          for (int64_t w = win.ws; w < win.we; ++w) s += static_cast<acc_t>(xpl[h * g.W + w]);
        ypl[oh * g.Wo + ow] = static_cast<T>(win.divisor > 0 ? s / static_cast<acc_t>(win.divisor) : acc_t(0));
      }
    }
  }
}

template <class T>
void avg_pool_bwd(const Tensor& gy, const detail::Pool2dParams& p, Tensor& gx) {
  using acc_t = opmath_t<T>;
  const PlaneGeometry g = geometry(gx, gy);
  const T* gyp = gy.data_ptr<T>();
  T* gxp = gx.data_ptr<T>();
#pragma omp parallel for schedule(static) if (g.planes * g.H * g.W > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    std::vector<acc_t> acc(static_cast<size_t>(g.H * g.W), acc_t(0));
    const T* gpl = gyp + plane * g.Ho * g.Wo;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const AvgWindow win = avg_window(p, g.H, g.W, oh, ow);
        if (win.divisor <= 0) continue;
        const acc_t v = static_cast<acc_t>(gpl[oh * g.Wo + ow]) / static_cast<acc_t>(win.divisor);
        for (int64_t h = win.hs; h < win.he; ++h)
          for (int64_t w = win.ws; w < win.we; ++w) acc[static_cast<size_t>(h * g.W + w)] += v;
      }
    }
    T* xpl = gxp + plane * g.H * g.W;
    for (int64_t i = 0; i < g.H * g.W; ++i) xpl[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
  }
}

}  // namespace

void CpuBackend::max_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out, Tensor& indices) {
  visit_floating(x.dtype(), "max_pool2d", [&](auto t) { max_pool_fwd<decltype(t)>(x, p, out, indices); });
}

void CpuBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) {
  visit_floating(gy.dtype(), "max_pool2d_backward", [&](auto t) { max_pool_bwd<decltype(t)>(gy, indices, gx); });
}

void CpuBackend::avg_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out) {
  visit_floating(x.dtype(), "avg_pool2d", [&](auto t) { avg_pool_fwd<decltype(t)>(x, p, out); });
}

void CpuBackend::avg_pool2d_backward(const Tensor& gy, const detail::Pool2dParams& p, Tensor& gx) {
  visit_floating(gy.dtype(), "avg_pool2d_backward", [&](auto t) { avg_pool_bwd<decltype(t)>(gy, p, gx); });
}

}  // namespace kiln::cpu
