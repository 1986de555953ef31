// Rows for include/kiln/ops/nn.h: linear, conv2d, pooling, batch_norm,
// dropout and the losses. Each reference below is a plain float64 loop over
// NCHW indices written from the PyTorch documentation of the op, sharing no
// code with kiln's kernels.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// Treats a 3-D [C,H,W] reference as a batch of one; `squeezed` says so.
struct Image {
  int64_t N, C, H, W;
  bool squeezed;
};
Image image_of(const Ref& x) {
  if (x.shape.size() == 3) return {1, x.shape[0], x.shape[1], x.shape[2], true};
  return {x.shape[0], x.shape[1], x.shape[2], x.shape[3], false};
}
Shape image_shape(const Image& im, int64_t C, int64_t H, int64_t W) {
  if (im.squeezed) return {C, H, W};
  return {im.N, C, H, W};
}

// --- linear ------------------------------------------------------------------------
// y[..., o] = sum_i x[..., i] * w[o, i] + b[o]
Ref ref_linear(const Ref& x, const Ref& w, const Ref* b) {
  const int64_t in = x.shape.back(), out = w.shape[0];
  const int64_t rows = numel_of(x.shape) / std::max<int64_t>(in, 1);
  Ref y;
  y.shape = x.shape;
  y.shape.back() = out;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < out; ++o) {
      double acc = b ? b->v[o] : 0.0;
      for (int64_t i = 0; i < in; ++i) acc += x.v[r * in + i] * w.v[o * in + i];
      y.v.push_back(acc);
    }
  return y;
}

// --- conv2d -------------------------------------------------------------------------
struct ConvArgs {
  Size2 stride = 1, padding = 0, dilation = 1;
  int64_t groups = 1;
};

Ref ref_conv2d(const Ref& x, const Ref& w, const Ref* b, const ConvArgs& a) {
  const Image im = image_of(x);
  const int64_t O = w.shape[0], Cg = w.shape[1], kh = w.shape[2], kw = w.shape[3], Og = O / a.groups;
  const int64_t Ho = (im.H + 2 * a.padding.h - a.dilation.h * (kh - 1) - 1) / a.stride.h + 1;
  const int64_t Wo = (im.W + 2 * a.padding.w - a.dilation.w * (kw - 1) - 1) / a.stride.w + 1;
  Ref y;
  y.shape = image_shape(im, O, Ho, Wo);
  for (int64_t n = 0; n < im.N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          double acc = b ? b->v[o] : 0.0;
          const int64_t first_channel = (o / Og) * Cg;
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t h = oh * a.stride.h - a.padding.h + i * a.dilation.h;
                const int64_t ww = ow * a.stride.w - a.padding.w + j * a.dilation.w;
                if (h < 0 || h >= im.H || ww < 0 || ww >= im.W) continue;  // zero padding
                acc += x.v[((n * im.C + first_channel + c) * im.H + h) * im.W + ww] *
                       w.v[((o * Cg + c) * kh + i) * kw + j];
              }
          y.v.push_back(acc);
        }
  return y;
}

// --- pooling -------------------------------------------------------------------------
struct PoolArgs {
  Size2 kernel = 2;
  std::optional<Size2> stride;
  Size2 padding = 0;
  bool ceil_mode = false;
  bool count_include_pad = true;
};

// PyTorch's output length: floor (or ceil) of the number of window steps,
// plus one; in ceil mode a last window starting in the right padding is dropped.
int64_t pooled_length(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const double steps = static_cast<double>(in + 2 * p - k) / static_cast<double>(s);
  int64_t out = static_cast<int64_t>(ceil_mode ? std::ceil(steps) : std::floor(steps)) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

Ref ref_pool2d(const Ref& x, const PoolArgs& a, bool is_max) {
  const Image im = image_of(x);
  const Size2 k = a.kernel, s = a.stride.value_or(a.kernel), p = a.padding;
  const int64_t Ho = pooled_length(im.H, k.h, s.h, p.h, a.ceil_mode);
  const int64_t Wo = pooled_length(im.W, k.w, s.w, p.w, a.ceil_mode);
  Ref y;
  y.shape = image_shape(im, im.C, Ho, Wo);
  for (int64_t plane = 0; plane < im.N * im.C; ++plane)
    for (int64_t oh = 0; oh < Ho; ++oh)
      for (int64_t ow = 0; ow < Wo; ++ow) {
        // The window, clipped to the padded input (what count_include_pad counts).
        const int64_t h0 = oh * s.h - p.h, w0 = ow * s.w - p.w;
        const int64_t h1 = std::min(h0 + k.h, im.H + p.h), w1 = std::min(w0 + k.w, im.W + p.w);
        double best = -std::numeric_limits<double>::infinity(), total = 0;
        int64_t real = 0;
        for (int64_t h = std::max<int64_t>(h0, 0); h < std::min(h1, im.H); ++h)
          for (int64_t w = std::max<int64_t>(w0, 0); w < std::min(w1, im.W); ++w) {
            const double v = x.v[(plane * im.H + h) * im.W + w];
            best = std::max(best, v);
            total += v;
            ++real;
          }
        const int64_t divisor = a.count_include_pad ? (h1 - h0) * (w1 - w0) : real;
        y.v.push_back(is_max ? best : total / static_cast<double>(divisor));
      }
  return y;
}

// Cell (i, j) averages rows [floor(i*H/Ho), ceil((i+1)*H/Ho)) x the same for columns.
Ref ref_adaptive_avg_pool2d(const Ref& x, Size2 out) {
  const Image im = image_of(x);
  Ref y;
  y.shape = image_shape(im, im.C, out.h, out.w);
  for (int64_t plane = 0; plane < im.N * im.C; ++plane)
    for (int64_t i = 0; i < out.h; ++i)
      for (int64_t j = 0; j < out.w; ++j) {
        const int64_t h0 = static_cast<int64_t>(std::floor(double(i * im.H) / double(out.h)));
        const int64_t h1 = static_cast<int64_t>(std::ceil(double((i + 1) * im.H) / double(out.h)));
        const int64_t w0 = static_cast<int64_t>(std::floor(double(j * im.W) / double(out.w)));
        const int64_t w1 = static_cast<int64_t>(std::ceil(double((j + 1) * im.W) / double(out.w)));
        double total = 0;
        for (int64_t h = h0; h < h1; ++h)
          for (int64_t w = w0; w < w1; ++w) total += x.v[(plane * im.H + h) * im.W + w];
        y.v.push_back(total / static_cast<double>((h1 - h0) * (w1 - w0)));
      }
  return y;
}

// --- batch norm ---------------------------------------------------------------------------
// Values of channel c of x [N,C] or [N,C,H,W] are at (n*C + c)*S + i, S = H*W.
struct Channels {
  int64_t N, C, S;
};
Channels channels_of(const Ref& x) {
  const int64_t N = x.shape[0], C = x.shape[1];
  return {N, C, N * C != 0 ? numel_of(x.shape) / (N * C) : 0};
}

double channel_mean(const Ref& x, const Channels& ch, int64_t c) {
  double total = 0;
  for (int64_t n = 0; n < ch.N; ++n)
    for (int64_t i = 0; i < ch.S; ++i) total += x.v[(n * ch.C + c) * ch.S + i];
  return total / static_cast<double>(ch.N * ch.S);
}
// Sum of squared deviations from `mean` over channel c.
double channel_ssd(const Ref& x, const Channels& ch, int64_t c, double mean) {
  double total = 0;
  for (int64_t n = 0; n < ch.N; ++n)
    for (int64_t i = 0; i < ch.S; ++i) total += std::pow(x.v[(n * ch.C + c) * ch.S + i] - mean, 2);
  return total;
}

// y = (x - mean_c) / sqrt(var_c + eps) * w_c + b_c with the given per-channel statistics.
Ref normalise(const Ref& x, const std::vector<double>& mean, const std::vector<double>& var, const Ref* w,
              const Ref* b, double eps) {
  const Channels ch = channels_of(x);
  Ref y{x.shape, std::vector<double>(x.v.size()), std::nullopt};
  for (int64_t n = 0; n < ch.N; ++n)
    for (int64_t c = 0; c < ch.C; ++c)
      for (int64_t i = 0; i < ch.S; ++i) {
        const int64_t at = (n * ch.C + c) * ch.S + i;
        y.v[at] = (x.v[at] - mean[c]) / std::sqrt(var[c] + eps) * (w ? w->v[c] : 1.0) + (b ? b->v[c] : 0.0);
      }
  return y;
}

// Training: batch statistics (biased variance for normalising, unbiased for
// the running update). Returns {y, running_mean', running_var'}.
std::vector<Ref> ref_batch_norm_train(const Ref& x, const Ref* w, const Ref* b, const Ref* rm, const Ref* rv,
                                      double momentum, double eps) {
  const Channels ch = channels_of(x);
  const double count = static_cast<double>(ch.N * ch.S);
  std::vector<double> mean(ch.C), var(ch.C);
  Ref new_rm{{ch.C}, {}, std::nullopt}, new_rv{{ch.C}, {}, std::nullopt};
  for (int64_t c = 0; c < ch.C; ++c) {
    mean[c] = channel_mean(x, ch, c);
    const double ssd = channel_ssd(x, ch, c, mean[c]);
    var[c] = ssd / count;
    if (rm) new_rm.v.push_back((1 - momentum) * rm->v[c] + momentum * mean[c]);
    if (rv) new_rv.v.push_back((1 - momentum) * rv->v[c] + momentum * ssd / (count - 1));
  }
  return {normalise(x, mean, var, w, b, eps), new_rm, new_rv};
}

// --- losses ----------------------------------------------------------------------------------
Ref reduce_loss(const Ref& per_element, const std::string& reduction, double count) {
  if (reduction == "none") return per_element;
  double total = 0;
  for (double v : per_element.v) total += v;
  return Ref{{}, {reduction == "sum" ? total : total / count}, std::nullopt};
}

// Class scores x [N,C,d...] (or [C]) with targets [N,d...] (or []): calls
// f(scores of one position, its target) for each position in target order.
// Returns the per-position losses shaped like the target and the number of
// positions whose target is not ignore_index.
template <class PerRow>
std::pair<Ref, double> per_position(const Ref& x, const Ref& target, int64_t ignore_index, PerRow f) {
  const bool single = x.shape.size() == 1;
  const int64_t N = single ? 1 : x.shape[0], C = single ? x.shape[0] : x.shape[1];
  const int64_t S = single ? 1 : numel_of(x.shape) / std::max<int64_t>(N * C, 1);
  Ref out{target.shape, {}, std::nullopt};
  double valid = 0;
  std::vector<double> scores(C);
  for (int64_t n = 0; n < N; ++n)
    for (int64_t s = 0; s < S; ++s) {
      const int64_t t = static_cast<int64_t>(target.v[n * S + s]);
      if (t == ignore_index) {
        out.v.push_back(0.0);
        continue;
      }
      for (int64_t c = 0; c < C; ++c) scores[c] = x.v[(n * C + c) * S + s];
      out.v.push_back(f(scores, t));
      valid += 1;
    }
  return {out, valid};
}

Ref ref_cross_entropy(const Ref& x, const Ref& target, int64_t ignore_index, double smoothing,
                      const std::string& reduction) {
  auto [losses, valid] = per_position(x, target, ignore_index, [smoothing](const std::vector<double>& z, int64_t t) {
    double total = 0;
    for (double v : z) total += std::exp(v);
    const double lse = std::log(total);
    // -sum_c q_c log p_c with q = (1-e) onehot(t) + e/C.
    double loss = 0;
    const double C = static_cast<double>(z.size());
    for (size_t c = 0; c < z.size(); ++c) {
      const double q = (static_cast<int64_t>(c) == t ? 1 - smoothing : 0.0) + smoothing / C;
      loss -= q * (z[c] - lse);
    }
    return loss;
  });
  return reduce_loss(losses, reduction, valid);
}

Ref ref_nll_loss(const Ref& x, const Ref& target, int64_t ignore_index, const std::string& reduction) {
  auto [losses, valid] =
      per_position(x, target, ignore_index, [](const std::vector<double>& lp, int64_t t) { return -lp[t]; });
  return reduce_loss(losses, reduction, valid);
}

Ref ref_mse_loss(const Ref& x, const Ref& y, const std::string& reduction) {
  Ref d = map2(x, y, [](double a, double b) { return (a - b) * (a - b); });
  return reduce_loss(d, reduction, static_cast<double>(d.v.size()));
}

// The textbook form -[pw*y*log(sigmoid(x)) + (1-y)*log(1-sigmoid(x))] (the
// inputs stay in [-2, 2], where it is accurate).
Ref ref_bce_with_logits(const Ref& x, const Ref& y, const Ref* pos_weight, const std::string& reduction) {
  Ref loss{x.shape, {}, std::nullopt};
  const int64_t last = x.shape.empty() ? 1 : x.shape.back();
  for (size_t i = 0; i < x.v.size(); ++i) {
    const double sig = 1 / (1 + std::exp(-x.v[i]));
    const double pw = pos_weight ? pos_weight->v[pos_weight->v.size() == 1 ? 0 : i % last] : 1.0;
    loss.v.push_back(-(pw * y.v[i] * std::log(sig) + (1 - y.v[i]) * std::log(1 - sig)));
  }
  return reduce_loss(loss, reduction, static_cast<double>(x.v.size()));
}

// Class-index targets: int64 values, never differentiated.
SampleInput targets(Shape s, std::vector<double> values) { return fixed(std::move(s), std::move(values)); }

// Per-channel running statistics given as fixed float64 values exactly
// representable in bf16 (so every tested dtype sees the same numbers); the
// kiln call casts them to the input's dtype, which keeps them out of the
// gradient (they are buffers, not parameters).
SampleInput stats(std::vector<double> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return fixed({n}, std::move(values), kFloat64);
}
std::vector<double> means_of(int64_t C) {
  std::vector<double> v;
  for (int64_t c = 0; c < C; ++c) v.push_back(0.25 * static_cast<double>(c % 5) - 0.5);
  return v;
}
std::vector<double> vars_of(int64_t C) {
  std::vector<double> v;
  for (int64_t c = 0; c < C; ++c) v.push_back(0.5 + 0.25 * static_cast<double>(c % 4));
  return v;
}

const std::vector<std::pair<DType, Tolerance>> kProductTolerance = {
    {kFloat32, {1e-4, 1e-4}}, {kFloat16, {2e-3, 5e-3}}, {kBFloat16, {1.6e-2, 4e-2}}};

std::string size2_tag(const char* what, Size2 s) {
  return std::string(what) + std::to_string(s.h) + (s.h == s.w ? "" : "x" + std::to_string(s.w));
}

// --- rows ----------------------------------------------------------------------------------------
OpRow linear_row() {
  OpRow r;
  r.name = "linear";
  r.dtypes = floating_dtypes();
  r.tolerances = kProductTolerance;
  r.grad = grad_on();
  r.samples = [] {
    auto with_bias = [](std::vector<SampleInput> inputs) {
      return sample(std::move(inputs), [](const std::vector<Tensor>& v) { return linear(v[0], v[1], v[2]); },
                    [](const std::vector<Ref>& v) { return ref_linear(v[0], v[1], &v[2]); }, "bias");
    };
    auto no_bias = [](std::vector<SampleInput> inputs) {
      return sample(std::move(inputs), [](const std::vector<Tensor>& v) { return linear(v[0], v[1]); },
                    [](const std::vector<Ref>& v) { return ref_linear(v[0], v[1], nullptr); }, "nobias");
    };
    return std::vector<Sample>{
        with_bias({in({3, 5}), in({4, 5}), in({4})}),
        no_bias({in({3, 5}), in({4, 5})}),
        with_bias({in({5}), in({4, 5}), in({4})}),              // a single vector
        with_bias({in({2, 3, 5}), in({4, 5}), in({4})}),        // leading batch dims
        with_bias({in({3, 5}, kT), in({4, 5}, kT), in({4}, kS)}),  // strided operands
        with_bias({in({4, 5}, kE), in({2, 5}), in({2})}),       // broadcast rows (stride 0)
        with_bias({in({1, 1}), in({1, 1}), in({1})}),
        no_bias({in({0, 5}), in({4, 5})}),                      // no rows
        with_bias({in({33, 70}), in({40, 70}), in({40})}),
    };
  };
  r.errors = {
      error("in_features_mismatch", [] { linear(zeros({2, 3}), zeros({4, 5})); }, ErrorKind::Shape,
            {"linear", "in_features = 5", "[2, 3]"}),
      error("bias_shape", [] { linear(zeros({2, 5}), zeros({4, 5}), zeros({3})); }, ErrorKind::Shape,
            {"linear", "bias", "[4]"}),
      error("dtype_mismatch", [] { linear(zeros({2, 5}), zeros({4, 5}, kFloat64)); }, ErrorKind::DType,
            {"linear", "same dtype"}),
  };
  return r;
}

OpRow conv2d_row() {
  OpRow r;
  r.name = "conv2d";
  r.dtypes = floating_dtypes();
  r.tolerances = kProductTolerance;
  r.grad = grad_on();
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, ConvArgs a, const std::string& tag) {
      const bool bias = inputs.size() == 3;
      s.push_back(sample(
          std::move(inputs),
          [a, bias](const std::vector<Tensor>& v) {
            return conv2d(v[0], v[1], bias ? v[2] : Tensor(), a.stride, a.padding, a.dilation, a.groups);
          },
          [a, bias](const std::vector<Ref>& v) { return ref_conv2d(v[0], v[1], bias ? &v[2] : nullptr, a); }, tag));
    };
    add({in({2, 3, 6, 5}), in({4, 3, 3, 3}), in({4})}, {}, "plain");
    add({in({2, 2, 7, 6}), in({3, 2, 3, 3}), in({3})}, {2, 1, 1, 1}, "stride2_pad1");
    add({in({1, 2, 7, 8}), in({3, 2, 3, 2}), in({3})}, {{2, 1}, {1, 0}, 1, 1}, "stride2x1_pad1x0");
    add({in({1, 2, 7, 7}), in({2, 2, 3, 3})}, {1, 2, 2, 1}, "dilation2_pad2_nobias");
    add({in({1, 2, 6, 7}), in({2, 2, 2, 3}), in({2})}, {1, 0, {2, 1}, 1}, "dilation2x1");
    add({in({2, 4, 5, 5}), in({6, 2, 3, 3}), in({6})}, {1, 1, 1, 2}, "groups2");
    add({in({1, 3, 5, 5}), in({3, 1, 3, 3}), in({3})}, {1, 1, 1, 3}, "depthwise");
    add({in({2, 5, 3, 4}), in({7, 5, 1, 1})}, {}, "pointwise_nobias");
    add({in({3, 5, 5}), in({2, 3, 3, 3}), in({2})}, {1, 1, 1, 1}, "unbatched");
    add({in({2, 2, 5, 6}, kT), in({3, 2, 3, 3}, kS), in({3}, kS)}, {1, 1, 1, 1}, "strided");
    add({in({3, 2, 4, 4}, kE), in({2, 2, 3, 3}), in({2})}, {}, "expanded_batch");
    add({in({1, 1, 1, 5}), in({1, 1, 1, 3}), in({1})}, {}, "size1_dims");
    add({in({2, 2, 3, 3}), in({4, 2, 3, 3}), in({4})}, {}, "kernel_equals_input");
    add({in({0, 2, 4, 4}), in({3, 2, 3, 3}), in({3})}, {}, "empty_batch");
    add({in({4, 8, 16, 16}), in({16, 8, 3, 3}), in({16})}, {1, 1, 1, 1}, "large");
    return s;
  };
  r.errors = {
      error("channels_mismatch", [] { conv2d(zeros({1, 3, 5, 5}), zeros({2, 2, 3, 3})); }, ErrorKind::Shape,
            {"conv2d", "[2, 2, 3, 3]", "[1, 3, 5, 5]"}),
      error("groups_do_not_divide", [] { conv2d(zeros({1, 3, 5, 5}), zeros({2, 1, 3, 3}), Tensor(), 1, 0, 1, 2); },
            ErrorKind::Shape, {"conv2d", "divisible by groups 2"}),
      error("kernel_larger_than_input", [] { conv2d(zeros({1, 1, 2, 2}), zeros({1, 1, 3, 3})); }, ErrorKind::Shape,
            {"conv2d", "smaller than the dilated kernel"}),
      error("zero_stride", [] { conv2d(zeros({1, 1, 4, 4}), zeros({1, 1, 3, 3}), Tensor(), 0); }, ErrorKind::Value,
            {"conv2d", "stride must be >= 1"}),
      error("rank2_input", [] { conv2d(zeros({4, 4}), zeros({1, 1, 3, 3})); }, ErrorKind::Shape,
            {"conv2d", "[N,C,H,W] or [C,H,W]", "[4, 4]"}),
      error("integer_input", [] { conv2d(zeros({1, 1, 4, 4}, kInt64), zeros({1, 1, 3, 3}, kInt64)); },
            ErrorKind::DType, {"conv2d", "int64"}),
  };
  return r;
}

// Cases shared by both pools.
struct PoolCase {
  SampleInput input;
  PoolArgs args;
  std::string tag;
};
PoolArgs pool_args(Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0, bool ceil_mode = false,
                   bool count_include_pad = true) {
  PoolArgs a;
  a.kernel = kernel;
  a.stride = stride;
  a.padding = padding;
  a.ceil_mode = ceil_mode;
  a.count_include_pad = count_include_pad;
  return a;
}
std::vector<PoolCase> pool_cases() {
  return {
      {in({2, 3, 6, 6}), pool_args(2), "k2"},
      {in({2, 2, 7, 6}), pool_args(3, Size2(2), 1), "k3_s2_p1"},
      {in({1, 2, 7, 6}), pool_args(2, Size2(2), 0, true), "k2_ceil"},
      {in({1, 2, 6, 7}), pool_args(3, Size2(2), 1, true), "k3_s2_p1_ceil"},
      {in({1, 2, 5, 8}), pool_args({2, 3}, Size2(1, 2), {1, 0}), "k2x3_s1x2_p1x0"},
      {in({1, 1, 5, 5}), pool_args(3, Size2(1)), "overlapping_k3_s1"},
      {in({3, 6, 5}), pool_args(2, std::nullopt, 1), "unbatched_p1"},
      {in({2, 2, 6, 5}, kT), pool_args(2, Size2(1)), "strided"},
      {in({3, 2, 4, 4}, kE), pool_args(2), "expanded_batch"},
      {in({1, 1, 1, 5}), pool_args({1, 2}), "size1_dims"},
      {in({0, 2, 4, 4}), pool_args(2), "empty_batch"},
      {in({4, 16, 32, 32}), pool_args(3, Size2(2), 1), "large"},
  };
}

OpRow pool_row(bool is_max) {
  OpRow r;
  r.name = is_max ? "max_pool2d" : "avg_pool2d";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  // Averages of up to 9 values round once in f16/bf16.
  if (!is_max) r.tolerances = {{kFloat16, {2e-3, 4e-3}}, {kBFloat16, {1.6e-2, 3e-2}}};
  r.samples = [is_max] {
    std::vector<PoolCase> cases = pool_cases();
    if (!is_max) {
      // Dividing by the real elements only.
      cases.push_back({in({2, 2, 7, 6}), pool_args(3, Size2(2), 1, false, false), "k3_s2_p1_exclude_pad"});
      cases.push_back({in({1, 2, 6, 7}), pool_args(3, Size2(2), 1, true, false), "k3_s2_p1_ceil_exclude_pad"});
    }
    std::vector<Sample> s;
    for (const PoolCase& c : cases) {
      const PoolArgs a = c.args;
      s.push_back(sample(
          {c.input},
          [a, is_max](const std::vector<Tensor>& v) {
            if (is_max) return max_pool2d(v[0], a.kernel, a.stride, a.padding, a.ceil_mode);
            return avg_pool2d(v[0], a.kernel, a.stride, a.padding, a.ceil_mode, a.count_include_pad);
          },
          [a, is_max](const std::vector<Ref>& v) { return ref_pool2d(v[0], a, is_max); }, c.tag));
    }
    return s;
  };
  const std::string op = r.name;
  auto call = [is_max](const Tensor& x, Size2 k, std::optional<Size2> s, Size2 p) {
    if (is_max) max_pool2d(x, k, s, p);
    else avg_pool2d(x, k, s, p);
  };
  r.errors = {
      error("padding_over_half_kernel", [call] { call(zeros({1, 1, 6, 6}), 2, std::nullopt, 2); }, ErrorKind::Value,
            {op, "at most half the kernel"}),
      error("kernel_larger_than_input", [call] { call(zeros({1, 1, 2, 2}), 3, std::nullopt, 0); }, ErrorKind::Shape,
            {op, "smaller than the kernel"}),
      error("zero_stride", [call] { call(zeros({1, 1, 4, 4}), 2, Size2(0), 0); }, ErrorKind::Value,
            {op, "stride must be >= 1"}),
      error("rank2_input", [call] { call(zeros({4, 4}), 2, std::nullopt, 0); }, ErrorKind::Shape,
            {op, "[N,C,H,W] or [C,H,W]"}),
  };
  return r;
}

OpRow adaptive_avg_pool2d_row() {
  OpRow r;
  r.name = "adaptive_avg_pool2d";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat16, {2e-3, 4e-3}}, {kBFloat16, {1.6e-2, 3e-2}}};
  r.samples = [] {
    const std::vector<std::pair<SampleInput, Size2>> cases = {
        {in({2, 3, 6, 6}), {3, 3}},      // divides evenly
        {in({2, 2, 7, 5}), {3, 2}},      // overlapping uneven windows
        {in({1, 3, 5, 4}), {1, 1}},      // global average
        {in({1, 2, 3, 3}), {5, 4}},      // more cells than inputs
        {in({3, 5, 7}), {2, 3}},         // unbatched
        {in({2, 2, 6, 5}, kT), {4, 2}},  // strided
        {in({1, 1, 1, 6}), {1, 4}},      // size-1 dims
        {in({2, 16, 33, 31}), {7, 7}},   // large
    };
    std::vector<Sample> s;
    for (const auto& [input, out] : cases) {
      const Size2 o = out;
      s.push_back(sample({input}, [o](const std::vector<Tensor>& v) { return adaptive_avg_pool2d(v[0], o); },
                         [o](const std::vector<Ref>& v) { return ref_adaptive_avg_pool2d(v[0], o); },
                         size2_tag("out", o)));
    }
    return s;
  };
  r.errors = {
      error("zero_output", [] { adaptive_avg_pool2d(zeros({1, 1, 4, 4}), 0); }, ErrorKind::Value,
            {"adaptive_avg_pool2d", "output size must be >= 1"}),
      error("empty_plane", [] { adaptive_avg_pool2d(zeros({1, 1, 0, 4}), 2); }, ErrorKind::Shape,
            {"adaptive_avg_pool2d", "empty plane"}),
  };
  return r;
}

OpRow batch_norm_row() {
  OpRow r;
  r.name = "batch_norm";
  r.dtypes = floating_dtypes();
  r.grad = grad_on(1e-5, 2e-3);
  // Normalising divides by a standard deviation computed from rounded data.
  r.tolerances = {{kFloat32, {1e-4, 1e-4}}, {kFloat16, {5e-3, 1e-2}}, {kBFloat16, {3e-2, 6e-2}}};
  constexpr double kEps = 1e-5;
  r.samples = [] {
    std::vector<Sample> s;
    // Training with batch statistics, affine: inputs x, weight, bias.
    for (const SampleInput& x :
         {in({4, 3}), in({2, 3, 4, 5}), in({2, 3, 4, 5}, kT), in({3, 2, 3, 3}, kE), in({1, 2, 1, 3}), in({5, 1}),
          in({8, 16, 12, 12})}) {
      const int64_t C = x.shape[1];
      s.push_back(sample(
          {x, in({C}), in({C})},
          [](const std::vector<Tensor>& v) { return batch_norm(v[0], v[1], v[2], Tensor(), Tensor(), true); },
          [](const std::vector<Ref>& v) { return ref_batch_norm_train(v[0], &v[1], &v[2], nullptr, nullptr, 0, kEps)[0]; },
          "train"));
    }
    // Training without the affine transform.
    s.push_back(sample(
        {in({3, 4, 2, 2})},
        [](const std::vector<Tensor>& v) { return batch_norm(v[0], Tensor(), Tensor(), Tensor(), Tensor(), true); },
        [](const std::vector<Ref>& v) { return ref_batch_norm_train(v[0], nullptr, nullptr, nullptr, nullptr, 0, kEps)[0]; },
        "train_noaffine"));
    // Training updates the running statistics in place: outputs y, mean', var'.
    // Not differentiable: the running statistics depend on x but carry no gradient.
    for (const SampleInput& x : {in({4, 3}), in({2, 3, 4, 5}, kS)}) {
      const int64_t C = x.shape[1];
      Sample smp;
      smp.inputs = {x, in({C}), in({C}), stats(means_of(C)), stats(vars_of(C))};
      smp.name = describe_inputs(smp.inputs, "train_running_stats");
      smp.differentiable = false;
      smp.fn = [](const std::vector<Tensor>& v) {
        Tensor rm = v[3].to(v[0].dtype()).clone(), rv = v[4].to(v[0].dtype()).clone();
        Tensor y = batch_norm(v[0], v[1], v[2], rm, rv, true, /*momentum=*/0.25);
        return std::vector<Tensor>{y, rm, rv};
      };
      smp.ref = [](const std::vector<Ref>& v) { return ref_batch_norm_train(v[0], &v[1], &v[2], &v[3], &v[4], 0.25, kEps); };
      s.push_back(smp);
    }
    // Eval mode: the running statistics normalise.
    for (const SampleInput& x : {in({4, 3}), in({2, 3, 4, 5}), in({2, 3, 4, 5}, kT), in({1, 3}), in({1, 2, 1, 1})}) {
      const int64_t C = x.shape[1];
      s.push_back(sample(
          {x, in({C}), in({C}), stats(means_of(C)), stats(vars_of(C))},
          [](const std::vector<Tensor>& v) {
            return batch_norm(v[0], v[1], v[2], v[3].to(v[0].dtype()), v[4].to(v[0].dtype()), false);
          },
          [](const std::vector<Ref>& v) { return normalise(v[0], v[3].v, v[4].v, &v[1], &v[2], kEps); }, "eval"));
    }
    s.push_back(sample(
        {in({2, 3, 2, 2}), stats(means_of(3)), stats(vars_of(3))},
        [](const std::vector<Tensor>& v) {
          return batch_norm(v[0], Tensor(), Tensor(), v[1].to(v[0].dtype()), v[2].to(v[0].dtype()), false);
        },
        [](const std::vector<Ref>& v) { return normalise(v[0], v[1].v, v[2].v, nullptr, nullptr, kEps); },
        "eval_noaffine"));
    return s;
  };
  r.errors = {
      error("eval_without_running_stats", [] { batch_norm(zeros({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false); },
            ErrorKind::Value, {"batch_norm", "needs running_mean and running_var"}),
      error("weight_shape", [] { batch_norm(zeros({2, 3}), zeros({4}), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Shape, {"batch_norm", "weight", "[3]"}),
      error("one_value_per_channel", [] { batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Value, {"batch_norm", "more than one value per channel"}),
      error("rank3_input", [] { batch_norm(zeros({2, 3, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Shape, {"batch_norm", "[N,C] or [N,C,H,W]"}),
  };
  return r;
}

OpRow dropout_row() {
  OpRow r;
  r.name = "dropout";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  // The deterministic settings: p = 0 and eval mode are the identity, p = 1 zeroes everything.
  r.samples = [] {
    std::vector<Sample> s;
    auto identity = [](const std::vector<Ref>& v) { return v[0]; };
    for (const SampleInput& x : {in({4, 7}), in({3, 5}, kT), in({}), in({1, 1, 5}), in({0, 3})}) {
      s.push_back(sample({x}, [](const std::vector<Tensor>& v) { return dropout(v[0], 0.0, true); }, identity,
                         "p0_train"));
      s.push_back(sample({x}, [](const std::vector<Tensor>& v) { return dropout(v[0], 0.5, false); }, identity,
                         "p05_eval"));
      s.push_back(sample({x}, [](const std::vector<Tensor>& v) { return dropout(v[0], 1.0, true); },
                         [](const std::vector<Ref>& v) { return map1(v[0], [](double) { return 0.0; }); },
                         "p1_train"));
    }
    return s;
  };
  r.errors = {
      error("p_above_one", [] { dropout(zeros({2}), 1.5); }, ErrorKind::Value, {"dropout", "p must be in [0, 1]", "1.5"}),
      error("negative_p", [] { dropout(zeros({2}), -0.1); }, ErrorKind::Value, {"dropout", "p must be in [0, 1]"}),
  };
  return r;
}

OpRow cross_entropy_row() {
  OpRow r;
  r.name = "cross_entropy";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat32, {1e-5, 1e-5}}, {kFloat16, {4e-3, 1e-2}}, {kBFloat16, {2e-2, 6e-2}}};
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, int64_t ignore, double smoothing, std::string reduction,
                    const std::string& tag, bool differentiable = true) {
      Sample smp = sample(
          std::move(inputs),
          [=](const std::vector<Tensor>& v) { return cross_entropy(v[0], v[1], ignore, smoothing, reduction); },
          [=](const std::vector<Ref>& v) { return ref_cross_entropy(v[0], v[1], ignore, smoothing, reduction); },
          tag + "_" + reduction);
      smp.differentiable = differentiable;
      s.push_back(smp);
    };
    const std::vector<double> t4 = {1, 0, 4, 2};
    for (const char* red : {"mean", "sum", "none"}) add({in({4, 5}), targets({4}, t4)}, -100, 0, red, "plain");
    add({in({4, 5}), targets({4}, t4)}, -100, 0.1, "mean", "smoothing01");
    add({in({4, 5}), targets({4}, t4)}, -100, 1.0, "sum", "smoothing1");
    add({in({4, 5}), targets({4}, {1, -100, 4, -100})}, -100, 0, "mean", "ignore_default");
    add({in({4, 5}), targets({4}, {1, 2, 4, 2})}, 2, 0.2, "mean", "ignore2_smoothing");
    add({in({4, 5}), targets({4}, {1, 2, 4, 2})}, 2, 0, "none", "ignore2");
    // Every target ignored: "mean" is 0/0 = nan, as in PyTorch.
    add({in({2, 3}), targets({2}, {-100, -100})}, -100, 0, "mean", "all_ignored", false);
    add({in({2, 3, 4}), targets({2, 4}, {0, 2, 1, 1, 2, 0, 0, 1})}, -100, 0, "none", "spatial");
    add({in({2, 3, 2, 2}), targets({2, 2, 2}, {0, 2, 1, -100, 2, 0, 0, 1})}, -100, 0.1, "mean", "spatial2d");
    add({in({5}), targets({}, {3})}, -100, 0, "mean", "unbatched");
    add({in({5, 4}, kT), targets({5}, {0, 3, 2, 1, 3})}, -100, 0, "mean", "strided");
    add({in({3, 6}, kE), targets({3}, {5, 0, 2})}, -100, 0, "sum", "expanded");
    add({in({1, 1}), targets({1}, {0})}, -100, 0, "mean", "one_class");
    add({in({0, 4}), targets({0}, {})}, -100, 0, "sum", "empty");
    {
      std::vector<double> big_t;
      for (int i = 0; i < 64; ++i) big_t.push_back(double((i * 37) % 1000));
      add({in({64, 1000}), targets({64}, big_t)}, -100, 0.1, "mean", "large");
    }
    return s;
  };
  r.errors = {
      error("target_out_of_range", [] { cross_entropy(zeros({2, 3}), tensor(std::vector<int64_t>{0, 3})); },
            ErrorKind::Index, {"cross_entropy", "[0, 3)", "-100"}),
      error("float_target", [] { cross_entropy(zeros({2, 3}), zeros({2})); }, ErrorKind::DType,
            {"cross_entropy", "int64 class indices"}),
      error("target_shape", [] { cross_entropy(zeros({2, 3}), zeros({3}, kInt64)); }, ErrorKind::Shape,
            {"cross_entropy", "[3]", "[2]"}),
      error("bad_reduction", [] { cross_entropy(zeros({2, 3}), zeros({2}, kInt64), -100, 0, "avg"); },
            ErrorKind::Value, {"cross_entropy", "reduction", "avg"}),
      error("smoothing_above_one", [] { cross_entropy(zeros({2, 3}), zeros({2}, kInt64), -100, 1.5); },
            ErrorKind::Value, {"cross_entropy", "label_smoothing", "[0, 1]"}),
  };
  return r;
}

OpRow nll_loss_row() {
  OpRow r;
  r.name = "nll_loss";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat16, {2e-3, 4e-3}}, {kBFloat16, {1.6e-2, 3e-2}}};
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, int64_t ignore, std::string reduction, const std::string& tag,
                    bool differentiable = true) {
      Sample smp = sample(
          std::move(inputs), [=](const std::vector<Tensor>& v) { return nll_loss(v[0], v[1], ignore, reduction); },
          [=](const std::vector<Ref>& v) { return ref_nll_loss(v[0], v[1], ignore, reduction); },
          tag + "_" + reduction);
      smp.differentiable = differentiable;
      s.push_back(smp);
    };
    const std::vector<double> t4 = {1, 0, 4, 2};
    for (const char* red : {"mean", "sum", "none"}) add({in({4, 5}), targets({4}, t4)}, -100, red, "plain");
    add({in({4, 5}), targets({4}, {1, -100, 4, 0})}, -100, "mean", "ignore_default");
    add({in({4, 5}), targets({4}, {3, 3, 4, 0})}, 3, "sum", "ignore3");
    add({in({2, 2}), targets({2}, {-100, -100})}, -100, "mean", "all_ignored", false);
    add({in({2, 3, 4}), targets({2, 4}, {0, 2, 1, 1, 2, 0, 0, 1})}, -100, "none", "spatial");
    add({in({5}), targets({}, {2})}, -100, "mean", "unbatched");
    add({in({5, 4}, kT), targets({5}, {0, 3, 2, 1, 3})}, -100, "mean", "strided");
    add({in({1, 1}), targets({1}, {0})}, -100, "mean", "one_class");
    return s;
  };
  r.errors = {
      error("target_out_of_range", [] { nll_loss(zeros({2, 3}), tensor(std::vector<int64_t>{-1, 0})); },
            ErrorKind::Index, {"nll_loss", "[0, 3)"}),
      error("target_shape", [] { nll_loss(zeros({2, 3}), zeros({2, 1}, kInt64)); }, ErrorKind::Shape,
            {"nll_loss", "[2, 1]"}),
  };
  return r;
}

OpRow mse_loss_row() {
  OpRow r;
  r.name = "mse_loss";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  // Sums of squares of up to ~1000 terms round once in f16/bf16.
  r.tolerances = {{kFloat32, {1e-5, 1e-5}}, {kFloat16, {4e-3, 1e-2}}, {kBFloat16, {2e-2, 6e-2}}};
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, std::string reduction) {
      s.push_back(sample(std::move(inputs), [=](const std::vector<Tensor>& v) { return mse_loss(v[0], v[1], reduction); },
                         [=](const std::vector<Ref>& v) { return ref_mse_loss(v[0], v[1], reduction); }, reduction));
    };
    for (const char* red : {"mean", "sum", "none"}) {
      add({in({4, 7}), in({4, 7})}, red);
      add({in({3, 5}, kT), in({3, 5}, kS)}, red);
    }
    add({in({}), in({})}, "mean");
    add({in({1, 1, 5}), in({1, 1, 5})}, "sum");
    add({in({5, 6}, kE), in({5, 6})}, "mean");
    add({in({0, 3}), in({0, 3})}, "sum");
    add({in({0, 3}), in({0, 3})}, "none");
    add({in({30, 33}), in({30, 33})}, "mean");
    return s;
  };
  r.errors = {
      error("shape_mismatch", [] { mse_loss(zeros({2, 3}), zeros({3, 2})); }, ErrorKind::Shape,
            {"mse_loss", "[2, 3]", "[3, 2]", "same shape"}),
      error("dtype_mismatch", [] { mse_loss(zeros({2}), zeros({2}, kFloat64)); }, ErrorKind::DType,
            {"mse_loss", "same dtype"}),
      error("bad_reduction", [] { mse_loss(zeros({2}), zeros({2}), "total"); }, ErrorKind::Value,
            {"mse_loss", "reduction", "total"}),
  };
  return r;
}

OpRow bce_with_logits_row() {
  OpRow r;
  r.name = "binary_cross_entropy_with_logits";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat32, {1e-5, 1e-5}}, {kFloat16, {4e-3, 1e-2}}, {kBFloat16, {2e-2, 6e-2}}};
  r.samples = [] {
    std::vector<Sample> s;
    // Targets are drawn in (-0.9, 0.9) and mapped to (0.05, 0.95) by both sides.
    auto prob = [](const Tensor& t) { return t * 0.5 + 0.5; };
    auto prob_ref = [](const Ref& t) { return map1(t, [](double v) { return v * 0.5 + 0.5; }); };
    auto add = [&](std::vector<SampleInput> inputs, std::string reduction, bool pos_weight) {
      inputs[1].domain = Domain::Unit;
      if (pos_weight) inputs[2].domain = Domain::Positive;
      s.push_back(sample(
          std::move(inputs),
          [=](const std::vector<Tensor>& v) {
            return binary_cross_entropy_with_logits(v[0], prob(v[1]), pos_weight ? v[2] : Tensor(), reduction);
          },
          [=](const std::vector<Ref>& v) {
            return ref_bce_with_logits(v[0], prob_ref(v[1]), pos_weight ? &v[2] : nullptr, reduction);
          },
          reduction + (pos_weight ? "_pos_weight" : "")));
    };
    for (const char* red : {"mean", "sum", "none"}) {
      add({in({4, 7}), in({4, 7})}, red, false);
      add({in({4, 7}), in({4, 7}), in({7})}, red, true);
    }
    add({in({3, 5}, kT), in({3, 5}, kS)}, "mean", false);
    add({in({2, 3, 4}), in({2, 3, 4}), in({1})}, "sum", true);
    add({in({5, 6}, kE), in({5, 6}), in({6}, kS)}, "none", true);
    add({in({}), in({})}, "mean", false);
    add({in({1, 1}), in({1, 1}), in({1})}, "mean", true);
    add({in({0, 3}), in({0, 3})}, "sum", false);
    add({in({40, 33}), in({40, 33}), in({33})}, "mean", true);
    return s;
  };
  r.errors = {
      error("shape_mismatch", [] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 4})); }, ErrorKind::Shape,
            {"binary_cross_entropy_with_logits", "[2, 3]", "[2, 4]"}),
      error("pos_weight_does_not_broadcast",
            [] { binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), zeros({4})); }, ErrorKind::Shape,
            {"binary_cross_entropy_with_logits", "[4]", "[2, 3]"}),
      error("bad_reduction", [] { binary_cross_entropy_with_logits(zeros({2}), zeros({2}), Tensor(), "max"); },
            ErrorKind::Value, {"binary_cross_entropy_with_logits", "reduction", "max"}),
  };
  return r;
}

}  // namespace

std::vector<OpRow> nn_rows() {
  return {linear_row(),       conv2d_row(),       pool_row(true),     pool_row(false),
          adaptive_avg_pool2d_row(), batch_norm_row(), dropout_row(),   cross_entropy_row(),
          nll_loss_row(),     mse_loss_row(),     bce_with_logits_row()};
}

}  // namespace kiln::testing
