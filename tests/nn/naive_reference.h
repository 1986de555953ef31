// Naive float64 loops for convolution, pooling and batch norm: the
// references the layer tests compare against. Written for clarity only.
#pragma once
#include <kiln/kiln.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

namespace kiln::testref {

inline Tensor conv2d(const Tensor& x_, const Tensor& w_, const Tensor& b_, Size2 s, Size2 p, Size2 d, int64_t groups) {
  const auto x = x_.to_vector<double>(), w = w_.to_vector<double>();
  const int64_t N = x_.size(0), C = x_.size(1), H = x_.size(2), W = x_.size(3);
  const int64_t O = w_.size(0), kh = w_.size(2), kw = w_.size(3), Cg = C / groups, Og = O / groups;
  const int64_t Ho = (H + 2 * p.h - d.h * (kh - 1) - 1) / s.h + 1, Wo = (W + 2 * p.w - d.w * (kw - 1) - 1) / s.w + 1;
  std::vector<double> y(static_cast<size_t>(N * O * Ho * Wo));
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double acc = b_.defined() ? b_.at<double>({o}) : 0.0;
          const int64_t g = o / Og;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t ih = oh * s.h - p.h + i * d.h, iw = ow * s.w - p.w + j * d.w;
                if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
                acc += x[static_cast<size_t>(((n * C + g * Cg + c) * H + ih) * W + iw)] *
                       w[static_cast<size_t>(((o * Cg + c) * kh + i) * kw + j)];
              }
          y[static_cast<size_t>(((n * O + o) * Ho + oh) * Wo + ow)] = acc;
        }
  return tensor(y, {N, O, Ho, Wo});
}

inline int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const double v = static_cast<double>(in + 2 * p - k) / static_cast<double>(s);
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(v) : std::floor(v)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// avg: count_include_pad as in PyTorch (the window clipped to the padded input).
inline Tensor pool2d(const Tensor& x_, Size2 k, Size2 s, Size2 p, bool ceil_mode, bool is_max,
                     bool count_include_pad = true) {
  const auto x = x_.to_vector<double>();
  const int64_t N = x_.size(0), C = x_.size(1), H = x_.size(2), W = x_.size(3);
  const int64_t Ho = pool_out(H, k.h, s.h, p.h, ceil_mode), Wo = pool_out(W, k.w, s.w, p.w, ceil_mode);
  std::vector<double> y(static_cast<size_t>(N * C * Ho * Wo));
  for (int64_t nc = 0; nc < N * C; ++nc)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        const int64_t h0 = oh * s.h - p.h, w0 = ow * s.w - p.w;
        const int64_t h1 = std::min(h0 + k.h, H + p.h), w1 = std::min(w0 + k.w, W + p.w);
        double best = -std::numeric_limits<double>::infinity(), sum = 0;
        int64_t real = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) {
            if (h < 0 || h >= H || w < 0 || w >= W) continue;
            const double v = x[static_cast<size_t>((nc * H + h) * W + w)];
            best = std::max(best, v);
            sum += v;
            ++real;
          }
        const double divisor = count_include_pad ? static_cast<double>((h1 - h0) * (w1 - w0)) : static_cast<double>(real);
        y[static_cast<size_t>((nc * Ho + oh) * Wo + ow)] = is_max ? best : sum / divisor;
      }
  return tensor(y, {N, C, Ho, Wo});
}

// Training-mode batch norm with batch statistics (biased variance).
inline Tensor batch_norm_train(const Tensor& x_, const Tensor& w_, const Tensor& b_, double eps) {
  const auto x = x_.to_vector<double>();
  const int64_t N = x_.size(0), C = x_.size(1), HW = x_.numel() / (N * C);
  std::vector<double> y(x.size());
  for (int64_t c = 0; c < C; ++c) {
    double mean = 0, var = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) mean += x[static_cast<size_t>((n * C + c) * HW + i)];
    mean /= static_cast<double>(N * HW);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) var += std::pow(x[static_cast<size_t>((n * C + c) * HW + i)] - mean, 2);
    var /= static_cast<double>(N * HW);
    const double w = w_.defined() ? w_.at<double>({c}) : 1.0, b = b_.defined() ? b_.at<double>({c}) : 0.0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const size_t at = static_cast<size_t>((n * C + c) * HW + i);
        y[at] = (x[at] - mean) / std::sqrt(var + eps) * w + b;
      }
  }
  return tensor(y, x_.sizes());
}

}  // namespace kiln::testref
