// Rows for max_pool2d, avg_pool2d and adaptive_avg_pool2d (include/kiln/ops/nn.h),
// the ops of src/ops/pool2d.cpp, src/cpu/pool2d_cpu.cpp, src/cuda/pool2d_cuda.cpp
// and kernels/pool2d.cu.
#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

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
// Attributes kernel, stride (absent: the kernel), padding {h, w}, ceil_mode, count_include_pad.
Attrs pool_attrs(const PoolArgs& p) {
  Attrs a = Attrs()
                .shape("kernel", shape_of(p.kernel))
                .shape("padding", shape_of(p.padding))
                .b("ceil_mode", p.ceil_mode)
                .b("count_include_pad", p.count_include_pad);
  if (p.stride) a.shape("stride", shape_of(*p.stride));
  return a;
}
PoolArgs pool_args_of(const Attrs& a) {
  PoolArgs p;
  p.kernel = size2(a, "kernel");
  if (a.has("stride")) p.stride = size2(a, "stride");
  p.padding = size2(a, "padding");
  p.ceil_mode = a.b("ceil_mode");
  p.count_include_pad = a.b("count_include_pad");
  return p;
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
  r.fn = one_output([is_max](const std::vector<Tensor>& v, const Attrs& attrs) {
    const PoolArgs a = pool_args_of(attrs);
    if (is_max) return max_pool2d(v[0], a.kernel, a.stride, a.padding, a.ceil_mode);
    return avg_pool2d(v[0], a.kernel, a.stride, a.padding, a.ceil_mode, a.count_include_pad);
  });
  r.ref = one_ref([is_max](const std::vector<Ref>& v, const Attrs& attrs) {
    return ref_pool2d(v[0], pool_args_of(attrs), is_max);
  });
  r.samples = [is_max] {
    std::vector<PoolCase> cases = pool_cases();
    if (!is_max) {
      // Dividing by the real elements only.
      cases.push_back({in({2, 2, 7, 6}), pool_args(3, Size2(2), 1, false, false), "k3_s2_p1_exclude_pad"});
      cases.push_back({in({1, 2, 6, 7}), pool_args(3, Size2(2), 1, true, false), "k3_s2_p1_ceil_exclude_pad"});
    }
    std::vector<Sample> s;
    for (const PoolCase& c : cases) s.push_back(sample({c.input}, pool_attrs(c.args), c.tag));
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
  r.fn = one_output(
      [](const std::vector<Tensor>& v, const Attrs& a) { return adaptive_avg_pool2d(v[0], size2(a, "output_size")); });
  r.ref = one_ref(
      [](const std::vector<Ref>& v, const Attrs& a) { return ref_adaptive_avg_pool2d(v[0], size2(a, "output_size")); });
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
    for (const auto& [input, out] : cases)
      s.push_back(sample({input}, Attrs().shape("output_size", shape_of(out)), size2_tag("out", out)));
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

}  // namespace

std::vector<OpRow> pool2d_rows() { return {pool_row(true), pool_row(false), adaptive_avg_pool2d_row()}; }

}  // namespace kiln::testing
