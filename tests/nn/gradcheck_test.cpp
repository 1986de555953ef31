// Analytic gradients of the nn ops against central differences (f64, CPU).
#include <gtest/gtest.h>

#include <kiln/kiln.h>

using namespace kiln;
using autograd::gradcheck;

namespace {
Tensor leaf(const Shape& shape) { return randn(shape, kFloat64).requires_grad_(); }

void expect_gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f, const std::vector<Tensor>& inputs) {
  auto r = gradcheck(f, inputs);
  EXPECT_TRUE(r.ok) << r.report;
}
}  // namespace

struct ConvGradCase {
  const char* name;
  Shape x, w;
  Size2 stride, padding, dilation;
  int64_t groups;
};
// gtest prints the case name (ctest lines otherwise show the struct's bytes).
void PrintTo(const ConvGradCase& c, std::ostream* os) { *os << c.name; }

class Conv2dGradcheck : public ::testing::TestWithParam<ConvGradCase> {};

TEST_P(Conv2dGradcheck, InputWeightAndBias) {
  const ConvGradCase& c = GetParam();
  manual_seed(3);
  Tensor x = leaf(c.x), w = leaf(c.w), b = leaf({c.w[0]});
  expect_gradcheck([&](const std::vector<Tensor>& in) {
    return conv2d(in[0], in[1], in[2], c.stride, c.padding, c.dilation, c.groups);
  }, {x, w, b});
}

INSTANTIATE_TEST_SUITE_P(
    Cases, Conv2dGradcheck,
    ::testing::Values(ConvGradCase{"plain", {2, 2, 5, 5}, {3, 2, 3, 3}, 1, 0, 1, 1},
                      ConvGradCase{"padding", {2, 2, 5, 4}, {3, 2, 3, 3}, 1, 1, 1, 1},
                      ConvGradCase{"stride", {1, 2, 7, 6}, {2, 2, 3, 2}, {2, 3}, 1, 1, 1},
                      ConvGradCase{"dilation", {1, 2, 7, 7}, {2, 2, 3, 3}, 1, 2, 2, 1},
                      ConvGradCase{"groups", {2, 4, 5, 5}, {6, 2, 3, 3}, 1, 1, 1, 2},
                      ConvGradCase{"pointwise", {2, 3, 3, 4}, {2, 3, 1, 1}, 1, 0, 1, 1}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(Conv2dGradcheck, WithoutBiasAndWithFrozenInput) {
  Tensor x = randn({2, 2, 5, 5}, kFloat64), w = leaf({3, 2, 3, 3});
  expect_gradcheck([&](const std::vector<Tensor>& in) { return conv2d(in[0], in[1], Tensor(), 1, 1); }, {x, w});
}

TEST(PoolGradcheck, MaxPool) {
  Tensor x = leaf({2, 2, 7, 6});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool2d(in[0], 2); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 2, 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool2d(in[0], 2, 2, 0, /*ceil=*/true); }, {x});
}

TEST(PoolGradcheck, OverlappingMaxPoolWindowsAccumulate) {
  Tensor x = leaf({1, 1, 5, 5});
  expect_gradcheck([](const std::vector<Tensor>& in) { return max_pool2d(in[0], 3, 1); }, {x});
}

TEST(PoolGradcheck, AvgPool) {
  Tensor x = leaf({2, 2, 7, 6});
  expect_gradcheck([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 2); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 3, 2, 1); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 3, 2, 1, true, false); }, {x});
  expect_gradcheck([](const std::vector<Tensor>& in) { return avg_pool2d(in[0], 2, 2, 1, /*ceil=*/true); }, {x});
}

TEST(PoolGradcheck, AdaptiveAvgPool) {
  Tensor x = leaf({1, 2, 7, 5});
  expect_gradcheck([](const std::vector<Tensor>& in) { return adaptive_avg_pool2d(in[0], {3, 2}); }, {x});
}

TEST(BatchNormGradcheck, TrainingInputWeightBias) {
  Tensor x = leaf({3, 2, 3, 2}), w = leaf({2}), b = leaf({2});
  expect_gradcheck([](const std::vector<Tensor>& in) {
    return batch_norm(in[0], in[1], in[2], Tensor(), Tensor(), true, 0.1, 1e-5);
  }, {x, w, b});
}

TEST(BatchNormGradcheck, TrainingWithoutAffineOn2D) {
  Tensor x = leaf({6, 3});
  expect_gradcheck([](const std::vector<Tensor>& in) {
    return batch_norm(in[0], Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  }, {x});
}

TEST(BatchNormGradcheck, EvalMode) {
  Tensor x = leaf({3, 2, 2, 2}), w = leaf({2}), b = leaf({2});
  Tensor rm = randn({2}, kFloat64), rv = rand({2}, kFloat64) + 0.5;
  expect_gradcheck([&](const std::vector<Tensor>& in) {
    return batch_norm(in[0], in[1], in[2], rm, rv, false, 0.1, 1e-5);
  }, {x, w, b});
}

TEST(LinearGradcheck, InputWeightBias) {
  Tensor x = leaf({3, 4}), w = leaf({2, 4}), b = leaf({2});
  expect_gradcheck([](const std::vector<Tensor>& in) { return linear(in[0], in[1], in[2]); }, {x, w, b});
}

TEST(LossGradcheck, CrossEntropyAllReductionsSmoothingAndIgnore) {
  Tensor logits = leaf({5, 4});
  Tensor target = tensor({1, 3, -100, 0, 2});
  for (const char* red : {"mean", "sum", "none"}) {
    for (double smooth : {0.0, 0.2}) {
      SCOPED_TRACE(std::string(red) + " smoothing " + std::to_string(smooth));
      expect_gradcheck([&](const std::vector<Tensor>& in) {
        return cross_entropy(in[0], target, -100, smooth, red);
      }, {logits});
    }
  }
}

TEST(LossGradcheck, CrossEntropySpatial) {
  Tensor logits = leaf({2, 3, 2, 2});
  Tensor target = tensor({0, 1, 2, 1, 2, 2, 0, 1}).view({2, 2, 2});
  expect_gradcheck([&](const std::vector<Tensor>& in) { return cross_entropy(in[0], target, -100, 0.1); }, {logits});
}

TEST(LossGradcheck, NllLoss) {
  Tensor lp = leaf({4, 3});
  Tensor target = tensor({2, 0, 1, 5});
  expect_gradcheck([&](const std::vector<Tensor>& in) { return nll_loss(in[0], target, /*ignore_index=*/5); }, {lp});
}

TEST(LossGradcheck, MseLossBothInputs) {
  Tensor a = leaf({3, 4}), b = leaf({3, 4});
  expect_gradcheck([](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1]); }, {a, b});
  expect_gradcheck([](const std::vector<Tensor>& in) { return mse_loss(in[0], in[1], "none"); }, {a, b});
}

TEST(LossGradcheck, BinaryCrossEntropyWithLogitsInputTargetAndPosWeight) {
  Tensor x = leaf({3, 4}), y = rand({3, 4}, kFloat64).requires_grad_(), pw = (rand({4}, kFloat64) + 0.5).requires_grad_();
  expect_gradcheck([](const std::vector<Tensor>& in) {
    return binary_cross_entropy_with_logits(in[0], in[1], in[2], "sum");
  }, {x, y, pw});
  expect_gradcheck([](const std::vector<Tensor>& in) {
    return binary_cross_entropy_with_logits(in[0], in[1], Tensor(), "none");
  }, {x, y});
}

TEST(LossGradcheck, BinaryCrossEntropyWithLogitsAtZeroLogit) {
  Tensor x = zeros({2}, kFloat64).requires_grad_();
  Tensor y = tensor({1.0, 0.0});
  binary_cross_entropy_with_logits(x, y, Tensor(), "sum").backward();
  // d/dx = sigmoid(0) - y
  EXPECT_NEAR(x.grad().at<double>({0}), -0.5, 1e-12);
  EXPECT_NEAR(x.grad().at<double>({1}), 0.5, 1e-12);
}
