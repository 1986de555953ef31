// Rows for kiln/ops/image.h: conv_transpose2d, pad, interpolate and
// group_norm. Each reference is a plain float64 loop written from PyTorch's
// documentation of the op, sharing no code with kiln's.
#include <algorithm>
#include <cmath>

#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// Scatter form: every input element adds x * w[c, o, i, j] at (h*s - p + i*d, w*s - p + j*d).
Ref ref_conv_transpose2d(const Ref& x, const Ref& w, const Ref* b, const Attrs& a) {
  const Image im = image_of(x);
  const int64_t s = a.i("stride"), p = a.i("padding"), op = a.i("output_padding"), g = a.i("groups"), d = a.i("dilation");
  const int64_t opg = w.shape[1], O = opg * g, kh = w.shape[2], kw = w.shape[3], cpg = im.C / g;
  const int64_t Ho = (im.H - 1) * s - 2 * p + d * (kh - 1) + op + 1, Wo = (im.W - 1) * s - 2 * p + d * (kw - 1) + op + 1;
  Ref y{image_shape(im, O, Ho, Wo), std::vector<double>(static_cast<size_t>(im.N * O * Ho * Wo), 0.0), std::nullopt};
  for (int64_t n = 0; n < im.N; ++n)
    for (int64_t c = 0; c < im.C; ++c)
      for (int64_t h = 0; h < im.H; ++h)
        for (int64_t ww = 0; ww < im.W; ++ww)
          for (int64_t o = 0; o < opg; ++o)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t oh = h * s - p + i * d, ow = ww * s - p + j * d;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                const int64_t oc = (c / cpg) * opg + o;
                y.v[static_cast<size_t>(((n * O + oc) * Ho + oh) * Wo + ow)] +=
                    x.v[static_cast<size_t>(((n * im.C + c) * im.H + h) * im.W + ww)] *
                    w.v[static_cast<size_t>(((c * opg + o) * kh + i) * kw + j)];
              }
  if (b)
    for (size_t k = 0; k < y.v.size(); ++k) y.v[k] += b->v[static_cast<size_t>((static_cast<int64_t>(k) / (Ho * Wo)) % O)];
  return y;
}

// Output position -> source position of one padded dim, or -1 for the fill value.
int64_t pad_source(const std::string& mode, int64_t o, int64_t n, int64_t lo) {
  const int64_t i = o - lo;
  if (mode == "constant") return i >= 0 && i < n ? i : -1;
  if (mode == "replicate") return std::clamp<int64_t>(i, 0, n - 1);
  if (mode == "circular") return ((i % n) + n) % n;
  int64_t r = i;  // reflect, edge not repeated
  while (r < 0 || r >= n) r = r < 0 ? -r : 2 * (n - 1) - r;
  return r;
}

Ref ref_pad(const Ref& x, const Attrs& a) {
  const std::vector<double>& pads = a.values("pad");
  const std::string& mode = a.s("mode");
  const double value = a.d("value");
  const int64_t nd = static_cast<int64_t>(x.shape.size());
  Ref y{x.shape, {}, std::nullopt};
  for (size_t k = 0; k < pads.size() / 2; ++k) {
    const size_t dim = static_cast<size_t>(nd - 1 - static_cast<int64_t>(k));
    y.shape[dim] += static_cast<int64_t>(pads[2 * k] + pads[2 * k + 1]);
  }
  for (int64_t e = 0; e < numel_of(y.shape); ++e) {
    std::vector<int64_t> idx = unravel(e, y.shape);
    bool fill = false;
    for (size_t k = 0; k < pads.size() / 2; ++k) {
      const size_t dim = static_cast<size_t>(nd - 1 - static_cast<int64_t>(k));
      const int64_t src = pad_source(mode, idx[dim], x.shape[dim], static_cast<int64_t>(pads[2 * k]));
      if (src < 0) fill = true;
      idx[dim] = src;
    }
    y.v.push_back(fill ? value : x.v[static_cast<size_t>(ravel(idx, x.shape))]);
  }
  return y;
}

// PyTorch's interpolate on [N,C,H,W]: nearest src = floor(dst * in / out);
// bilinear from src = dst * (in-1)/(out-1) (align_corners) or
// max((dst + 0.5) * in/out - 0.5, 0), interpolating between floor and floor + 1.
Ref ref_interpolate(const Ref& x, const Attrs& a) {
  const Image im = image_of(x);
  const int64_t Ho = a.shape("size")[0], Wo = a.shape("size")[1];
  const bool bilinear = a.s("mode") == "bilinear", corners = a.b("align_corners");
  auto src_of = [&](int64_t o, int64_t in, int64_t out) {
    if (!bilinear) return std::floor(static_cast<double>(o) * in / out);
    if (corners) return out > 1 ? static_cast<double>(o) * (in - 1) / (out - 1) : 0.0;
    return std::max((o + 0.5) * in / out - 0.5, 0.0);
  };
  Ref y{image_shape(im, im.C, Ho, Wo), {}, std::nullopt};
  for (int64_t n = 0; n < im.N; ++n)
    for (int64_t c = 0; c < im.C; ++c)
      for (int64_t oh = 0; oh < Ho; ++oh)
        for (int64_t ow = 0; ow < Wo; ++ow) {
          const double sh = src_of(oh, im.H, Ho), sw = src_of(ow, im.W, Wo);
          const int64_t h0 = std::min<int64_t>(static_cast<int64_t>(sh), im.H - 1),
                        w0 = std::min<int64_t>(static_cast<int64_t>(sw), im.W - 1);
          auto at = [&](int64_t h, int64_t w) { return x.v[static_cast<size_t>(((n * im.C + c) * im.H + h) * im.W + w)]; };
          if (!bilinear) {
            y.v.push_back(at(h0, w0));
            continue;
          }
          const int64_t h1 = std::min(h0 + 1, im.H - 1), w1 = std::min(w0 + 1, im.W - 1);
          const double lh = sh - h0, lw = sw - w0;
          y.v.push_back((1 - lh) * ((1 - lw) * at(h0, w0) + lw * at(h0, w1)) +
                        lh * ((1 - lw) * at(h1, w0) + lw * at(h1, w1)));
        }
  return y;
}

Ref ref_group_norm(const Ref& x, const Ref* w, const Ref* b, const Attrs& a) {
  const int64_t N = x.shape[0], C = x.shape[1], G = a.i("groups");
  const int64_t inner = numel_of(x.shape) / std::max<int64_t>(N * C, 1), per = C / G * inner;
  Ref y{x.shape, x.v, std::nullopt};
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      const size_t base = static_cast<size_t>((n * G + g) * per);
      double mu = 0, var = 0;
      for (int64_t k = 0; k < per; ++k) mu += x.v[base + k];
      mu /= static_cast<double>(per);
      for (int64_t k = 0; k < per; ++k) var += (x.v[base + k] - mu) * (x.v[base + k] - mu);
      var /= static_cast<double>(per);
      for (int64_t k = 0; k < per; ++k) {
        const size_t c = static_cast<size_t>(g * (C / G) + k / inner);
        double v = (x.v[base + k] - mu) / std::sqrt(var + 1e-5);
        if (w) v *= w->v[c];
        if (b) v += b->v[c];
        y.v[base + k] = v;
      }
    }
  return y;
}

OpRow conv_transpose2d_row() {
  OpRow r;
  r.name = "conv_transpose2d";
  r.dtypes = floating_dtypes();
  r.tolerances = kProductTolerance;
  r.grad = grad_on();
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return conv_transpose2d(v[0], v[1], v.size() == 3 ? v[2] : Tensor(), a.i("stride"), a.i("padding"),
                            a.i("output_padding"), a.i("groups"), a.i("dilation"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_conv_transpose2d(v[0], v[1], v.size() == 3 ? &v[2] : nullptr, a);
  });
  r.samples = [] {
    auto at = [](int64_t s, int64_t p, int64_t op, int64_t g, int64_t d) {
      return Attrs().i("stride", s).i("padding", p).i("output_padding", op).i("groups", g).i("dilation", d);
    };
    return std::vector<Sample>{
        sample({in({2, 3, 4, 4}), in({3, 2, 3, 3}), in({2})}, at(1, 0, 0, 1, 1), "plain"),
        sample({in({1, 4, 3, 5}), in({4, 1, 3, 3})}, at(2, 1, 1, 2, 1), "s2_p1_op1_g2_nobias"),
        sample({in({1, 2, 3, 3}), in({2, 3, 2, 2}), in({3})}, at(2, 0, 1, 1, 2), "dilated"),
        sample({in({2, 4, 4}), in({2, 2, 3, 3}, kT), in({2})}, at(1, 1, 0, 1, 1), "unbatched_strided_weight"),
    };
  };
  r.errors = {
      error("channels", [] { conv_transpose2d(zeros({1, 3, 4, 4}), zeros({2, 1, 3, 3})); }, ErrorKind::Shape,
            {"conv_transpose2d", "input channels"}),
      error("output_padding", [] { conv_transpose2d(zeros({1, 2, 4, 4}), zeros({2, 1, 3, 3}), Tensor(), 1, 0, 1); },
            ErrorKind::Value, {"conv_transpose2d", "output_padding"}),
  };
  return r;
}

OpRow pad_row() {
  OpRow r;
  r.name = "pad";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    std::vector<int64_t> p;
    for (double d : a.values("pad")) p.push_back(static_cast<int64_t>(d));
    return pad(v[0], p, a.s("mode"), a.d("value"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) { return ref_pad(v[0], a); });
  r.samples = [] {
    auto at = [](std::vector<double> p, const char* mode, double value = 0.0) {
      return Attrs().values("pad", std::move(p)).s("mode", mode).d("value", value);
    };
    return std::vector<Sample>{
        sample({in({2, 3, 4})}, at({1, 2}, "constant", 1.5), "constant_last"),
        sample({in({2, 3, 4})}, at({1, 0, -1, 2}, "constant"), "constant_crop"),
        sample({in({1, 2, 3, 4}, kT)}, at({2, 1, 1, 2}, "reflect"), "reflect_strided"),
        sample({in({2, 3, 4})}, at({3, 1, 2, 0}, "replicate"), "replicate"),
        sample({in({1, 3, 5})}, at({2, 3}, "circular"), "circular"),
        sample({in({1, 1})}, at({1, 1}, "replicate"), "size1"),
    };
  };
  r.errors = {
      error("odd_pad", [] { pad(zeros({2, 3}), {1}); }, ErrorKind::Value, {"pad", "even"}),
      error("reflect_too_wide", [] { pad(zeros({2, 3}), {3, 0}, "reflect"); }, ErrorKind::Value, {"pad", "reflect"}),
  };
  return r;
}

OpRow interpolate_row() {
  OpRow r;
  r.name = "interpolate";
  r.dtypes = floating_dtypes();
  r.tolerances = kProductTolerance;
  r.grad = grad_on();
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return interpolate(v[0], size2(a, "size"), std::nullopt, a.s("mode"), a.b("align_corners"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) { return ref_interpolate(v[0], a); });
  r.samples = [] {
    auto at = [](Shape size, const char* mode, bool corners = false) {
      return Attrs().shape("size", std::move(size)).s("mode", mode).b("align_corners", corners);
    };
    return std::vector<Sample>{
        sample({in({2, 3, 4, 5})}, at({8, 10}, "nearest"), "nearest_up"),
        sample({in({1, 2, 6, 7}, kT)}, at({4, 3}, "nearest"), "nearest_down_strided"),
        sample({in({2, 2, 3, 4})}, at({5, 7}, "bilinear"), "bilinear"),
        sample({in({1, 3, 3, 3})}, at({6, 4}, "bilinear", true), "bilinear_corners"),
        sample({in({1, 1, 1, 1})}, at({3, 2}, "bilinear", true), "from_one_pixel"),
    };
  };
  r.errors = {
      error("both_size_and_scale",
            [] { interpolate(zeros({1, 1, 2, 2}), Size2(3, 3), std::make_pair(2.0, 2.0)); }, ErrorKind::Value,
            {"interpolate", "exactly one"}),
      error("not_4d", [] { interpolate(zeros({2, 2}), Size2(3, 3), std::nullopt); }, ErrorKind::Shape,
            {"interpolate", "[N,C,H,W]"}),
  };
  return r;
}

OpRow group_norm_row() {
  OpRow r;
  r.name = "group_norm";
  r.dtypes = floating_dtypes();
  r.tolerances = {{kFloat32, {1e-4, 1e-4}}, {kFloat16, {5e-3, 1e-2}}, {kBFloat16, {3e-2, 6e-2}}};
  r.grad = grad_on();
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return group_norm(v[0], a.i("groups"), v.size() > 1 ? v[1] : Tensor(), v.size() > 2 ? v[2] : Tensor());
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_group_norm(v[0], v.size() > 1 ? &v[1] : nullptr, v.size() > 2 ? &v[2] : nullptr, a);
  });
  r.samples = [] {
    return std::vector<Sample>{
        sample({in({2, 6, 3, 2}), in({6}), in({6})}, Attrs().i("groups", 3), "affine"),
        sample({in({3, 4, 5})}, Attrs().i("groups", 2), "plain"),
        sample({in({2, 4}, kT), in({4}), in({4})}, Attrs().i("groups", 4), "one_channel_groups_strided"),
        sample({in({1, 2, 7}), in({2})}, Attrs().i("groups", 1), "one_group_weight_only"),
    };
  };
  r.errors = {
      error("groups_do_not_divide", [] { group_norm(zeros({2, 6, 3}), 4); }, ErrorKind::Value,
            {"group_norm", "num_groups"}),
  };
  return r;
}

}  // namespace

std::vector<OpRow> image_rows() { return {conv_transpose2d_row(), pad_row(), interpolate_row(), group_norm_row()}; }

}  // namespace kiln::testing
