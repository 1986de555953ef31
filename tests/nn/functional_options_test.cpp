// LibTorch-style options structs and kiln::nn::functional: each option
// reaches the op, the functional forms agree with the ops and with plain
// reference formulas, and class/element weights follow PyTorch's definitions.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <sstream>
#include <type_traits>

using namespace kiln;
namespace F = kiln::nn::functional;

namespace {

void expect_close(const Tensor& a, const Tensor& b, double tol = 1e-10) {
  ASSERT_EQ(a.sizes(), b.sizes());
  const auto x = a.to_vector<double>(), y = b.to_vector<double>();
  for (size_t i = 0; i < x.size(); ++i) EXPECT_NEAR(x[i], y[i], tol) << "element " << i;
}

// -w[t] * log_softmax(x)[t] per row, with label smoothing e, as PyTorch defines it.
double weighted_ce_reference(const Tensor& x, const std::vector<int64_t>& t, const std::vector<double>& w,
                             int64_t ignore, double e, Reduction r) {
  const int64_t N = x.size(0), C = x.size(1);
  const auto v = x.to_vector<double>();
  double total = 0, wsum = 0;
  for (int64_t i = 0; i < N; ++i) {
    if (t[i] == ignore) continue;
    double m = -1e300;
    for (int64_t c = 0; c < C; ++c) m = std::max(m, v[i * C + c]);
    double s = 0;
    for (int64_t c = 0; c < C; ++c) s += std::exp(v[i * C + c] - m);
    auto logp = [&](int64_t c) { return v[i * C + c] - m - std::log(s); };
    double smooth = 0;
    for (int64_t c = 0; c < C; ++c) smooth += -w[c] * logp(c);
    total += (1 - e) * -w[t[i]] * logp(t[i]) + e / C * smooth;
    wsum += w[t[i]];
  }
  return r == Reduction::Mean ? total / wsum : total;
}

}  // namespace

TEST(NnOptions, SettersChainAndGettersReadBack) {
  auto lin = nn::LinearOptions(4, 3).bias(false);
  EXPECT_EQ(lin.in_features(), 4);
  EXPECT_EQ(lin.out_features(), 3);
  EXPECT_FALSE(lin.bias());
  auto conv = nn::Conv2dOptions(1, 8, 3).stride(2).padding({1, 2}).dilation(1).groups(1).bias(false);
  EXPECT_EQ(conv.stride().h, 2);
  EXPECT_EQ(conv.padding().w, 2);
  EXPECT_FALSE(conv.bias());
  auto bn = nn::BatchNorm2dOptions(16).eps(1e-3).momentum(0.01).affine(false).track_running_stats(false);
  EXPECT_DOUBLE_EQ(bn.eps(), 1e-3);
  EXPECT_DOUBLE_EQ(bn.momentum(), 0.01);
  EXPECT_FALSE(bn.affine());
  auto mp = nn::MaxPool2dOptions(3).stride(2).padding(1).ceil_mode(true);
  EXPECT_EQ(mp.kernel_size().h, 3);
  EXPECT_EQ(mp.stride().w, 2);
  EXPECT_EQ(nn::MaxPool2dOptions(3).stride().h, 3) << "stride defaults to the kernel size";
  auto ap = nn::AvgPool2dOptions(2).count_include_pad(false);
  EXPECT_FALSE(ap.count_include_pad());
  EXPECT_DOUBLE_EQ(nn::DropoutOptions(0.2).p(), 0.2);
  EXPECT_DOUBLE_EQ(nn::DropoutOptions().p(), 0.5);
}

TEST(NnOptions, ModulesBuiltFromOptionsMatchPositionalOnes) {
  nn::Linear a(nn::LinearOptions(5, 3).bias(false));
  EXPECT_FALSE(a->bias.defined());
  EXPECT_EQ(a->weight.sizes(), (Shape{3, 5}));
  EXPECT_EQ(a->options.out_features(), 3);
  nn::BatchNorm2d bn(nn::BatchNorm2dOptions(4).affine(false));
  EXPECT_FALSE(bn->weight.defined());
  EXPECT_TRUE(bn->running_mean.defined());
  EXPECT_EQ(bn->named_parameters().size(), 0u);
  nn::BatchNorm2d bn_positional(4, 1e-3, 0.2);
  EXPECT_DOUBLE_EQ(bn_positional->options.momentum(), 0.2);
  Tensor x = randn({2, 3, 9, 9});
  EXPECT_TRUE(equal(nn::MaxPool2d(nn::MaxPool2dOptions(3).stride(2).padding(1))(x), max_pool2d(x, 3, 2, 1)));
  EXPECT_TRUE(equal(nn::AvgPool2d(nn::AvgPool2dOptions(3).stride(2).padding(1).count_include_pad(false))(x),
                    avg_pool2d(x, 3, 2, 1, false, false)));
  nn::Dropout drop(nn::DropoutOptions().p(0.0));
  EXPECT_TRUE(equal(drop(x), x));
  nn::Flatten flat(nn::FlattenOptions().start_dim(2));
  EXPECT_EQ(flat(x).sizes(), (Shape{2, 3, 81}));
  nn::GELU g(nn::GELUOptions().approximate("tanh"));
  EXPECT_TRUE(equal(g(x), gelu(x, "tanh")));
  EXPECT_THROW(nn::Dropout(nn::DropoutOptions(1.5)), ValueError);
}

TEST(Functional, LossesForwardTheirOptions) {
  manual_seed(1);
  Tensor x = randn({6, 4}, kFloat64);
  Tensor t = tensor({0, 3, 1, -100, 2, 2}, kInt64);
  expect_close(F::cross_entropy(x, t), cross_entropy(x, t));
  expect_close(F::cross_entropy(x, t, F::CrossEntropyFuncOptions().reduction(kSum).label_smoothing(0.1)),
               cross_entropy(x, t, -100, 0.1, "sum"));
  expect_close(F::cross_entropy(x, t.clamp(0, 3), F::CrossEntropyFuncOptions().reduction(kNone).ignore_index(2)),
               cross_entropy(x, t.clamp(0, 3), 2, 0.0, "none"));
  Tensor logp = log_softmax(x, 1);
  expect_close(F::nll_loss(logp, t), nll_loss(logp, t));
  expect_close(F::nll_loss(logp, t, F::NLLLossFuncOptions().reduction(Reduction::Sum)), nll_loss(logp, t, -100, "sum"));
  Tensor y = randn({6, 4}, kFloat64);
  expect_close(F::mse_loss(x, y, F::MSELossFuncOptions(kSum)), mse_loss(x, y, "sum"));
  expect_close(F::mse_loss(x, y), mse_loss(x, y));
  Tensor target = rand({6, 4}, kFloat64);
  expect_close(F::binary_cross_entropy_with_logits(x, target), binary_cross_entropy_with_logits(x, target));
}

TEST(Functional, CrossEntropyWithClassWeightIsPyTorchsDefinition) {
  manual_seed(2);
  Tensor x = randn({7, 3}, kFloat64);
  const std::vector<int64_t> tv = {0, 2, 1, 1, -100, 0, 2};
  const std::vector<double> wv = {0.2, 1.5, 0.7};
  Tensor t = tensor(tv), w = tensor(wv);
  for (double e : {0.0, 0.2}) {
    for (Reduction r : {kMean, kSum}) {
      auto o = F::CrossEntropyFuncOptions().weight(w).label_smoothing(e).reduction(r);
      EXPECT_NEAR(F::cross_entropy(x, t, o).item<double>(), weighted_ce_reference(x, tv, wv, -100, e, r), 1e-10)
          << "label_smoothing " << e << " reduction " << reduction_name(r);
    }
  }
  // nll_loss with the same weight on log-probabilities gives the e = 0 value.
  EXPECT_NEAR(F::nll_loss(log_softmax(x, 1), t, F::NLLLossFuncOptions().weight(w)).item<double>(),
              weighted_ce_reference(x, tv, wv, -100, 0.0, kMean), 1e-10);
  // Unit weights are the unweighted loss.
  expect_close(F::cross_entropy(x, t, F::CrossEntropyFuncOptions().weight(ones({3}, kFloat64))), cross_entropy(x, t));
  EXPECT_THROW(F::cross_entropy(x, t, F::CrossEntropyFuncOptions().weight(ones({4}, kFloat64))), ShapeError);
}

TEST(Functional, WeightedLossesHaveCorrectGradients) {
  manual_seed(3);
  Tensor x = randn({5, 4}, kFloat64).requires_grad_();
  Tensor t = tensor({0, 3, 1, 2, 3}, kInt64);
  Tensor w = rand({4}, kFloat64) + 0.5;
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) {
    return F::cross_entropy(in[0], t, F::CrossEntropyFuncOptions().weight(w).label_smoothing(0.1));
  }, {x});
  EXPECT_TRUE(r.ok) << r.report;
  Tensor y = rand({5, 4}, kFloat64);
  Tensor ew = rand({4}, kFloat64);
  auto r2 = autograd::gradcheck([&](const std::vector<Tensor>& in) {
    return F::binary_cross_entropy_with_logits(in[0], y, F::BinaryCrossEntropyWithLogitsFuncOptions().weight(ew));
  }, {x});
  EXPECT_TRUE(r2.ok) << r2.report;
}

TEST(Functional, BceWithElementWeightScalesEachLoss) {
  Tensor x = tensor({0.5, -1.0, 2.0, 0.0}, kFloat64).reshape({2, 2});
  Tensor y = tensor({1.0, 0.0, 0.0, 1.0}, kFloat64).reshape({2, 2});
  Tensor w = tensor({2.0, 0.5}, kFloat64);
  Tensor none = binary_cross_entropy_with_logits(x, y, Tensor(), "none");
  expect_close(F::binary_cross_entropy_with_logits(x, y, F::BinaryCrossEntropyWithLogitsFuncOptions().weight(w).reduction(kNone)),
               none * w);
  EXPECT_NEAR(F::binary_cross_entropy_with_logits(x, y, F::BinaryCrossEntropyWithLogitsFuncOptions().weight(w)).item<double>(),
              (none * w).mean().item<double>(), 1e-12);
}

TEST(Functional, ActivationsDropoutSoftmax) {
  manual_seed(4);
  Tensor x = randn({3, 5});
  EXPECT_TRUE(equal(F::relu(x), relu(x)));
  Tensor z = x.clone();
  Tensor r = F::relu(z, F::ReLUFuncOptions(true));
  EXPECT_TRUE(r.is_same(z));
  EXPECT_TRUE(equal(z, relu(x)));
  EXPECT_TRUE(equal(F::gelu(x, F::GELUFuncOptions().approximate("tanh")), gelu(x, "tanh")));
  EXPECT_TRUE(equal(F::dropout(x, F::DropoutFuncOptions().p(0.5).training(false)), x));
  Tensor d = F::dropout(x, F::DropoutFuncOptions().p(1.0));
  EXPECT_EQ(d.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(equal(F::softmax(x, 1), softmax(x, 1)));
  EXPECT_TRUE(equal(F::log_softmax(x, F::LogSoftmaxFuncOptions(0)), log_softmax(x, 0)));
  Tensor s = F::softmax(x, F::SoftmaxFuncOptions(-1).dtype(kFloat64));
  EXPECT_EQ(s.dtype(), kFloat64);
  // inplace relu on a non-leaf keeps the gradient path.
  Tensor leaf = randn({4}, kFloat64).requires_grad_();
  Tensor h = leaf * 2.0;
  F::relu(h, F::ReLUFuncOptions().inplace(true)).sum().backward();
  const auto lv = leaf.to_vector<double>(), gv = leaf.grad().to_vector<double>();
  for (size_t i = 0; i < lv.size(); ++i) EXPECT_DOUBLE_EQ(gv[i], lv[i] > 0 ? 2.0 : 0.0);
}

TEST(Functional, LayersForwardTheirOptions) {
  manual_seed(5);
  Tensor x = randn({2, 3, 8, 8}), w = randn({4, 3, 3, 3}), b = randn({4});
  EXPECT_TRUE(equal(F::conv2d(x, w, F::Conv2dFuncOptions().bias(b).stride(2).padding(1)), conv2d(x, w, b, 2, 1)));
  EXPECT_TRUE(equal(F::max_pool2d(x, F::MaxPool2dFuncOptions(2)), max_pool2d(x, 2)));
  EXPECT_TRUE(equal(F::avg_pool2d(x, F::AvgPool2dFuncOptions(3).stride(1).padding(1)), avg_pool2d(x, 3, 1, 1)));
  Tensor lw = randn({5, 8}), lb = randn({5});
  EXPECT_TRUE(equal(F::linear(x, lw, lb), linear(x, lw, lb)));
  Tensor rm = zeros({3}), rv = ones({3});
  EXPECT_TRUE(allclose(F::batch_norm(x, rm, rv), x / std::sqrt(1 + 1e-5), 1e-5, 1e-6)) << "eval uses running stats";
  Tensor bn = F::batch_norm(x, Tensor(), Tensor(), F::BatchNormFuncOptions().training(true));
  EXPECT_NEAR(bn.mean({0, 2, 3}).abs().max().item<double>(), 0.0, 1e-5);
  Tensor labels = tensor({2, 0, 1}, kInt64);
  EXPECT_TRUE(equal(F::one_hot(labels, 4), one_hot(labels, 4)));
}

TEST(Functional, Conv1dIsAPlainOneDimensionalConvolution) {
  manual_seed(6);
  const int64_t N = 2, C = 4, L = 11, O = 6, K = 3, stride = 2, pad = 1, dil = 2, groups = 2;
  Tensor x = randn({N, C, L}, kFloat64), w = randn({O, C / groups, K}, kFloat64), b = randn({O}, kFloat64);
  Tensor y = F::conv1d(x, w, F::Conv1dFuncOptions().bias(b).stride(stride).padding(pad).dilation(dil).groups(groups));
  const int64_t Lo = (L + 2 * pad - dil * (K - 1) - 1) / stride + 1;
  ASSERT_EQ(y.sizes(), (Shape{N, O, Lo}));
  const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>(),
             yv = y.to_vector<double>();
  const int64_t cpg = C / groups, opg = O / groups;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t l = 0; l < Lo; ++l) {
        double s = bv[o];
        const int64_t g = o / opg;
        for (int64_t c = 0; c < cpg; ++c)
          for (int64_t k = 0; k < K; ++k) {
            const int64_t pos = l * stride - pad + k * dil;
            if (pos < 0 || pos >= L) continue;
            s += xv[(n * C + g * cpg + c) * L + pos] * wv[(o * cpg + c) * K + k];
          }
        EXPECT_NEAR(yv[(n * O + o) * Lo + l], s, 1e-10);
      }
  nn::Conv1d layer(nn::Conv1dOptions(C, O, K).stride(stride).padding(pad).dilation(dil).groups(groups));
  EXPECT_EQ(layer->weight.sizes(), (Shape{O, C / groups, K}));
  EXPECT_EQ(layer(x.to(kFloat32)).sizes(), (Shape{N, O, Lo}));
  EXPECT_EQ(layer(x.to(kFloat32)[0]).sizes(), (Shape{O, Lo})) << "unbatched [C, L]";
  auto r = autograd::gradcheck([&](const std::vector<Tensor>& in) {
    return F::conv1d(in[0], in[1], F::Conv1dFuncOptions().bias(in[2]).stride(2).padding(1).groups(groups));
  }, {x.requires_grad_(), w.requires_grad_(), b.requires_grad_()});
  EXPECT_TRUE(r.ok) << r.report;
}

TEST(NnLayers, BatchNorm1dNormalisesEachChannelOf2dAnd3dInput) {
  manual_seed(7);
  nn::BatchNorm1d bn(nn::BatchNorm1dOptions(3));
  Tensor x2 = randn({8, 3}) * 3.0 + 1.0;
  Tensor y2 = bn(x2);
  EXPECT_NEAR(y2.mean({0}).abs().max().item<double>(), 0.0, 1e-5);
  Tensor x3 = randn({4, 3, 5}) * 2.0 - 1.0;
  Tensor y3 = bn(x3);
  EXPECT_EQ(y3.sizes(), x3.sizes());
  EXPECT_NEAR(y3.mean({0, 2}).abs().max().item<double>(), 0.0, 1e-5);
  EXPECT_NEAR(y3.var({0, 2}, 0).mean().item<double>(), 1.0, 1e-3);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 2);
  EXPECT_THROW(bn(randn({2, 3, 4, 4})), ShapeError);
  EXPECT_THROW(bn(randn({2, 4})), ShapeError);
  nn::BatchNorm2d bn2(3);
  EXPECT_THROW(bn2(randn({2, 3})), ShapeError);
}

TEST(NnLayers, LossModulesAreTheFunctionalLosses) {
  manual_seed(8);
  Tensor x = randn({5, 3}), t = tensor({0, 1, 2, 1, 0}, kInt64), w = tensor({1.0f, 2.0f, 0.5f});
  nn::CrossEntropyLoss ce;
  EXPECT_TRUE(equal(ce(x, t), F::cross_entropy(x, t)));
  nn::CrossEntropyLoss wce(nn::CrossEntropyLossOptions().weight(w).reduction(kSum));
  EXPECT_TRUE(allclose(wce(x, t), F::cross_entropy(x, t, F::CrossEntropyFuncOptions().weight(w).reduction(kSum))));
  EXPECT_EQ(wce->state_dict().count("weight"), 1u) << "the class weight is a buffer";
  EXPECT_EQ(ce->state_dict().size(), 0u);
  nn::NLLLoss nll;
  EXPECT_TRUE(equal(nll(log_softmax(x, 1), t), nll_loss(log_softmax(x, 1), t)));
  Tensor y = randn({5, 3});
  nn::MSELoss mse{nn::MSELossOptions(kSum)};
  EXPECT_TRUE(equal(mse(x, y), mse_loss(x, y, "sum")));
  Tensor p = rand({5, 3});
  nn::BCEWithLogitsLoss bce(nn::BCEWithLogitsLossOptions().pos_weight(tensor({1.0f, 2.0f, 3.0f})));
  EXPECT_TRUE(equal(bce(x, p), binary_cross_entropy_with_logits(x, p, tensor({1.0f, 2.0f, 3.0f}))));
  nn::Identity id;
  EXPECT_TRUE(id(x).is_same(x));
}

TEST(Functional, LayerNormIsTheLayerNormOp) {
  manual_seed(3);
  Tensor x = randn({2, 3, 4}, kFloat64), w = randn({4}, kFloat64), b = randn({4}, kFloat64);
  expect_close(F::layer_norm(x, F::LayerNormFuncOptions({4}).weight(w).bias(b).eps(1e-3)), layer_norm(x, {4}, w, b, 1e-3),
               0);
  // Against the definition over the last two dims, without affine parameters.
  Tensor y = F::layer_norm(x, F::LayerNormFuncOptions({3, 4}));
  Tensor mean = x.mean({1, 2}, true), var = x.var({1, 2}, /*correction=*/0, true);
  expect_close(y, (x - mean) / (var + 1e-5).sqrt(), 1e-12);
  EXPECT_EQ(F::LayerNormFuncOptions({3, 4}).normalized_shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_THROW(F::layer_norm(x, F::LayerNormFuncOptions({5})), ShapeError);
}

TEST(Functional, EmbeddingIsTheEmbeddingOpWithLibTorchsArgumentOrder) {
  manual_seed(4);
  Tensor w = randn({5, 3}, kFloat64).requires_grad_();
  Tensor ids = tensor({4, 0, 4, 2}).view({2, 2});
  Tensor y = F::embedding(ids, w, F::EmbeddingFuncOptions().padding_idx(-1));
  expect_close(y, embedding(w, ids, 4), 0);
  EXPECT_EQ(y.sizes(), (Shape{2, 2, 3}));
  y.sum().backward();
  // padding_idx -1 is row 4: no gradient there; rows 0 and 2 get one each.
  expect_close(w.grad().sum(1), tensor({1.0, 0.0, 1.0, 0.0, 0.0}) * 3, 0);
  EXPECT_THROW(F::embedding(ids, w, F::EmbeddingFuncOptions().sparse(true)), ValueError);
  EXPECT_THROW(F::embedding(ids, w, F::EmbeddingFuncOptions().scale_grad_by_freq(true)), ValueError);
  EXPECT_THROW(F::embedding(tensor({5}), w), IndexError);
}

TEST(Functional, EmbeddingMaxNormRenormalisesThePickedRowsInPlace) {
  Tensor w = tensor({3.0, 4.0, 0.3, 0.4, 6.0, 8.0}).view({3, 2}).requires_grad_();
  // Rows 0 (norm 5) and 1 (norm 0.5) are picked; row 2 (norm 10) is not.
  Tensor y = F::embedding(tensor({0, 1, 0}), w, F::EmbeddingFuncOptions().max_norm(1.0));
  const double s = 1.0 / (5.0 + 1e-7);
  expect_close(w.detach(), tensor({3 * s, 4 * s, 0.3, 0.4, 6.0, 8.0}).view({3, 2}), 1e-12);
  expect_close(y, tensor({3 * s, 4 * s, 0.3, 0.4, 3 * s, 4 * s}).view({3, 2}), 1e-12);
  EXPECT_TRUE(w.is_leaf()) << "the renorm is not recorded";
  y.sum().backward();
  expect_close(w.grad(), tensor({2.0, 2.0, 1.0, 1.0, 0.0, 0.0}).view({3, 2}), 0);
  // The 1-norm, as norm_type says.
  Tensor v = tensor({1.0, 1.0}).view({1, 2});
  (void)F::embedding(tensor({0}), v, F::EmbeddingFuncOptions().max_norm(1.0).norm_type(1.0));
  expect_close(v, tensor({0.5, 0.5}).view({1, 2}), 1e-6);
}

TEST(Functional, InterpolateAndUpsampleShareOneOptionsClass) {
  static_assert(std::is_same_v<F::InterpolateFuncOptions, nn::UpsampleOptions>, "one definition");
  Tensor x = arange(4).to(kFloat64).view({1, 1, 2, 2});
  const auto o = nn::UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(kBilinear).align_corners(true);
  nn::Upsample up(o);
  expect_close(up(x), F::interpolate(x, o), 0);
  expect_close(up(x).select(3, 1).flatten(), tensor({1.0 / 3, 1.0 / 3 + 2.0 / 3, 1.0 / 3 + 4.0 / 3, 1.0 / 3 + 2.0}),
               1e-12);
}

TEST(NnLayers, DropoutInplaceWritesIntoItsInput) {
  manual_seed(6);
  EXPECT_TRUE(nn::DropoutOptions(0.3).inplace(true).inplace());
  EXPECT_FALSE(nn::DropoutOptions().inplace());
  nn::Dropout drop(nn::DropoutOptions(0.5).inplace(true));
  Tensor x = ones({1000});
  Tensor y = drop(x);
  EXPECT_TRUE(y.is_same(x));
  const double zeros_seen = (x == 0.0).sum().item<double>();
  EXPECT_GT(zeros_seen, 350);
  EXPECT_LT(zeros_seen, 650);
  EXPECT_TRUE(equal(x.masked_fill(x == 0.0, 2.0), full({1000}, 2.0f))) << "the others are scaled by 1/(1-p)";
  // In eval mode it is the identity, in place or not.
  drop->eval();
  Tensor z = ones({4});
  EXPECT_TRUE(equal(drop(z), ones({4})));
  std::ostringstream os;
  os << *drop;
  EXPECT_NE(os.str().find("inplace=true"), std::string::npos) << os.str();
}
