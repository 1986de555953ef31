// conv_transpose2d, pad, interpolate and group_norm (kiln/ops/image.h) and
// their layers and functional forms: forward against plain float64 loops
// written from PyTorch's documentation, gradients by gradcheck.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>

using namespace kiln;
namespace F = kiln::nn::functional;

namespace {

void expect_close(const Tensor& got, const std::vector<double>& want, const Shape& shape, double tol = 1e-9) {
  ASSERT_EQ(got.sizes(), shape);
  const auto v = got.to_vector<double>();
  ASSERT_EQ(v.size(), want.size());
  for (size_t i = 0; i < v.size(); ++i) EXPECT_NEAR(v[i], want[i], tol) << "element " << i;
}

void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& in) {
  auto r = autograd::gradcheck(f, in);
  EXPECT_TRUE(r.ok) << r.report;
}

// Scatter form of the transposed convolution: every input element adds
// x * w[c, o, i, j] at (h*s - p + i*d, w*s - p + j*d).
std::vector<double> ref_conv_transpose(const Tensor& x, const Tensor& w, const Tensor& b, int64_t s, int64_t p,
                                       int64_t op, int64_t g, int64_t d, Shape& out_shape) {
  const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
  const int64_t opg = w.size(1), O = opg * g, kh = w.size(2), kw = w.size(3);
  const int64_t Ho = (H - 1) * s - 2 * p + d * (kh - 1) + op + 1, Wo = (W - 1) * s - 2 * p + d * (kw - 1) + op + 1;
  out_shape = {N, O, Ho, Wo};
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>();
  std::vector<double> y(static_cast<size_t>(N * O * Ho * Wo), 0.0);
  const int64_t cpg = C / g;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t c = 0; c < C; ++c)
      for (int64_t h = 0; h < H; ++h)
        for (int64_t ww = 0; ww < W; ++ww)
          for (int64_t o = 0; o < opg; ++o)
            for (int64_t i = 0; i < kh; ++i)
              for (int64_t j = 0; j < kw; ++j) {
                const int64_t oh = h * s - p + i * d, ow = ww * s - p + j * d;
                if (oh < 0 || oh >= Ho || ow < 0 || ow >= Wo) continue;
                const int64_t oc = (c / cpg) * opg + o;
                y[static_cast<size_t>(((n * O + oc) * Ho + oh) * Wo + ow)] +=
                    xv[static_cast<size_t>(((n * C + c) * H + h) * W + ww)] *
                    wv[static_cast<size_t>(((c * opg + o) * kh + i) * kw + j)];
              }
  if (b.defined()) {
    const auto bv = b.to_vector<double>();
    for (int64_t n = 0; n < N; ++n)
      for (int64_t o = 0; o < O; ++o)
        for (int64_t k = 0; k < Ho * Wo; ++k) y[static_cast<size_t>((n * O + o) * Ho * Wo + k)] += bv[static_cast<size_t>(o)];
  }
  return y;
}

}  // namespace

TEST(ConvTranspose2d, MatchesTheScatterDefinition) {
  manual_seed(1);
  struct Case { int64_t C, O, k, s, p, op, g, d; };
  for (const Case c : {Case{2, 3, 3, 1, 0, 0, 1, 1}, Case{4, 2, 3, 2, 1, 1, 2, 1}, Case{2, 4, 2, 2, 0, 0, 1, 2},
                       Case{3, 3, 4, 3, 1, 2, 3, 1}}) {
    Tensor x = randn({2, c.C, 4, 5}, kFloat64), w = randn({c.C, c.O / c.g, c.k, c.k}, kFloat64),
           b = randn({c.O}, kFloat64);
    Shape shape;
    const auto want = ref_conv_transpose(x, w, b, c.s, c.p, c.op, c.g, c.d, shape);
    expect_close(conv_transpose2d(x, w, b, c.s, c.p, c.op, c.g, c.d), want, shape);
    expect_close(F::conv_transpose2d(x, w, F::ConvTranspose2dFuncOptions().bias(b).stride(c.s).padding(c.p)
                                               .output_padding(c.op).groups(c.g).dilation(c.d)),
                 want, shape);
  }
}

TEST(ConvTranspose2d, GradientsAndLayer) {
  manual_seed(2);
  Tensor x = randn({2, 4, 3, 3}, kFloat64).requires_grad_(), w = randn({4, 1, 3, 3}, kFloat64).requires_grad_(),
         b = randn({2}, kFloat64).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& v) { return conv_transpose2d(v[0], v[1], v[2], 2, 1, 1, 2); },
                   {x, w, b});
  nn::ConvTranspose2d up(nn::ConvTranspose2dOptions(8, 4, 4).stride(2).padding(1));
  EXPECT_EQ(up->weight.sizes(), (Shape{8, 4, 4, 4}));
  EXPECT_EQ(up(randn({1, 8, 7, 7})).sizes(), (Shape{1, 4, 14, 14}));
  EXPECT_EQ(up(randn({8, 7, 7})).sizes(), (Shape{4, 14, 14})) << "unbatched";
  EXPECT_THROW(conv_transpose2d(randn({1, 3, 4, 4}), randn({2, 1, 3, 3})), ShapeError);
  EXPECT_THROW(conv_transpose2d(randn({1, 2, 4, 4}), randn({2, 1, 3, 3}), Tensor(), 1, 0, 1), ValueError)
      << "output_padding must be smaller than stride";
}

TEST(Pad, ConstantReflectReplicateCircular) {
  Tensor x = arange(6).to(kFloat64).reshape({1, 1, 2, 3});  // [[0 1 2] [3 4 5]]
  expect_close(pad(x, {1, 2}, "constant", 9.0), {9, 0, 1, 2, 9, 9, 9, 3, 4, 5, 9, 9}, {1, 1, 2, 6});
  expect_close(pad(x, {0, 0, 1, 0}), {0, 0, 0, 0, 1, 2, 3, 4, 5}, {1, 1, 3, 3});
  expect_close(pad(x, {-1, 0}), {1, 2, 4, 5}, {1, 1, 2, 2});  // negative pads crop
  expect_close(pad(x, {2, 1}, "reflect"), {2, 1, 0, 1, 2, 1, 5, 4, 3, 4, 5, 4}, {1, 1, 2, 6});
  expect_close(pad(x, {1, 1, 1, 0}, "replicate"), {0, 0, 1, 2, 2, 0, 0, 1, 2, 2, 3, 3, 4, 5, 5}, {1, 1, 3, 5});
  expect_close(pad(x, {1, 2}, "circular"), {2, 0, 1, 2, 0, 1, 5, 3, 4, 5, 3, 4}, {1, 1, 2, 6});
  expect_close(F::pad(x, F::PadFuncOptions({1, 1}).mode(kReflect)), {1, 0, 1, 2, 1, 4, 3, 4, 5, 4}, {1, 1, 2, 5});
  expect_close(F::pad(x, F::PadFuncOptions({1, 0}).value(-1)), {-1, 0, 1, 2, -1, 3, 4, 5}, {1, 1, 2, 4});
  EXPECT_THROW(pad(x, {3, 0}, "reflect"), ValueError) << "reflect pad must be smaller than the dim";
  EXPECT_THROW(pad(x, {1}), ValueError);
  EXPECT_THROW(pad(x, {1, 1}, "wrap"), ValueError);
  Tensor g = randn({2, 3, 4}, kFloat64).requires_grad_();
  for (const char* mode : {"constant", "reflect", "replicate", "circular"})
    expect_gradcheck([&](const std::vector<Tensor>& v) { return pad(v[0], {1, 2, 2, 1}, mode); }, {g});
}

TEST(Interpolate, NearestAndBilinearMatchPyTorch) {
  Tensor x = arange(4).to(kFloat64).reshape({1, 1, 2, 2});  // [[0 1] [2 3]]
  expect_close(interpolate(x, Size2(4, 4), std::nullopt, "nearest"),
               {0, 0, 1, 1, 0, 0, 1, 1, 2, 2, 3, 3, 2, 2, 3, 3}, {1, 1, 4, 4});
  // torch.nn.functional.interpolate(x, size=(3, 3), mode="bilinear", align_corners=True)
  expect_close(interpolate(x, Size2(3, 3), std::nullopt, "bilinear", true), {0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3},
               {1, 1, 3, 3});
  // align_corners=False, scale 2: rows [0, .25, .75, 1] blend of 0 and 1 along W.
  expect_close(interpolate(x, std::nullopt, std::make_pair(2.0, 2.0), "bilinear", false),
               {0, 0.25, 0.75, 1, 0.5, 0.75, 1.25, 1.5, 1.5, 1.75, 2.25, 2.5, 2, 2.25, 2.75, 3}, {1, 1, 4, 4});
  // Downsampling nearest picks floor(dst * in / out).
  Tensor y = arange(6).to(kFloat64).reshape({1, 1, 1, 6});
  expect_close(interpolate(y, Size2(1, 4), std::nullopt, "nearest"), {0, 1, 3, 4}, {1, 1, 1, 4});
  expect_close(F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{3, 3}).mode(kBilinear)
                                     .align_corners(true)),
               {0, 0.5, 1, 1, 1.5, 2, 2, 2.5, 3}, {1, 1, 3, 3});
  nn::Upsample up(nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}));
  EXPECT_EQ(up(randn({2, 3, 5, 4})).sizes(), (Shape{2, 3, 10, 8}));
  EXPECT_THROW(interpolate(x, Size2(2, 2), std::make_pair(2.0, 2.0)), ValueError);
  EXPECT_THROW(F::interpolate(x, F::InterpolateFuncOptions().size(std::vector<int64_t>{3, 3}).align_corners(true)),
               ValueError);
  Tensor g = randn({1, 2, 3, 4}, kFloat64).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& v) { return interpolate(v[0], Size2(5, 7), std::nullopt, "bilinear"); },
                   {g});
  expect_gradcheck(
      [](const std::vector<Tensor>& v) { return interpolate(v[0], Size2(5, 3), std::nullopt, "bilinear", true); }, {g});
  expect_gradcheck([](const std::vector<Tensor>& v) { return interpolate(v[0], Size2(6, 2), std::nullopt, "nearest"); },
                   {g});
}

TEST(GroupNorm, NormalisesEachGroupThenAppliesTheAffine) {
  manual_seed(3);
  const int64_t N = 2, C = 6, G = 3, L = 5;
  Tensor x = randn({N, C, L}, kFloat64) * 2.0 + 1.0, w = randn({C}, kFloat64), b = randn({C}, kFloat64);
  Tensor y = group_norm(x, G, w, b, 1e-5);
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
  std::vector<double> want(xv.size());
  const int64_t per = C / G * L;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t g = 0; g < G; ++g) {
      const size_t base = static_cast<size_t>((n * G + g) * per);
      double mu = 0, var = 0;
      for (int64_t k = 0; k < per; ++k) mu += xv[base + k];
      mu /= per;
      for (int64_t k = 0; k < per; ++k) var += (xv[base + k] - mu) * (xv[base + k] - mu);
      var /= per;
      for (int64_t k = 0; k < per; ++k) {
        const int64_t c = g * (C / G) + k / L;
        want[base + k] = (xv[base + k] - mu) / std::sqrt(var + 1e-5) * wv[c] + bv[c];
      }
    }
  expect_close(y, want, {N, C, L});
  expect_close(F::group_norm(x, F::GroupNormFuncOptions(G).weight(w).bias(b)), want, {N, C, L});
  nn::GroupNorm gn(nn::GroupNormOptions(2, 4));
  EXPECT_EQ(gn->named_parameters().size(), 2u);
  EXPECT_EQ(gn(randn({3, 4, 2, 2})).sizes(), (Shape{3, 4, 2, 2}));
  EXPECT_THROW(nn::GroupNorm(4, 6), ValueError);
  EXPECT_THROW(group_norm(randn({2, 6}), 4), ValueError);
  Tensor gx = randn({2, 4, 3}, kFloat64).requires_grad_(), gw = randn({4}, kFloat64).requires_grad_(),
         gb = randn({4}, kFloat64).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& v) { return group_norm(v[0], 2, v[1], v[2]); }, {gx, gw, gb});
}

TEST(OneHot, FunctionalFormEncodesClasses) {
  Tensor t = F::one_hot(tensor({2, 0}), 3);
  EXPECT_EQ(t.sizes(), (Shape{2, 3}));
  EXPECT_EQ(t.to_vector<int64_t>(), (std::vector<int64_t>{0, 0, 1, 1, 0, 0}));
}
