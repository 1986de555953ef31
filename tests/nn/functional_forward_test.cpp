// Forward results of the nn ops against naive float64 loops
// (tests/nn/naive_reference.h), in f64 and f32.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "naive_reference.h"
#include "support/tensor_assert.h"

using namespace kiln;

namespace {
struct ConvCase {
  const char* name;
  int64_t N, C, H, W, O, kh, kw;
  Size2 stride, padding, dilation;
  int64_t groups;
  bool bias;
};
// gtest prints the case name (ctest lines otherwise show the struct's bytes).
void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }
const ConvCase kConvCases[] = {
    {"3x3_pad1", 2, 3, 7, 6, 4, 3, 3, 1, 1, 1, 1, true},
    {"stride2_rect", 2, 2, 9, 8, 3, 3, 2, {2, 3}, {1, 0}, 1, 1, true},
    {"dilation2", 1, 2, 9, 9, 2, 3, 3, 1, 2, 2, 1, false},
    {"groups2", 2, 4, 6, 5, 6, 3, 3, 1, 1, 1, 2, true},
    {"depthwise", 1, 3, 5, 5, 3, 3, 3, 1, 1, 1, 3, false},
    {"pointwise_1x1", 2, 5, 4, 3, 7, 1, 1, 1, 0, 1, 1, true},
    {"kernel_equals_input", 3, 2, 3, 3, 4, 3, 3, 1, 0, 1, 1, true},
};
}  // namespace

class Conv2dForward : public ::testing::TestWithParam<ConvCase> {};

TEST_P(Conv2dForward, MatchesNaiveLoopsInF64AndF32) {
  const ConvCase& c = GetParam();
  manual_seed(7);
  Tensor x = randn({c.N, c.C, c.H, c.W}, kFloat64);
  Tensor w = randn({c.O, c.C / c.groups, c.kh, c.kw}, kFloat64);
  Tensor b = c.bias ? randn({c.O}, kFloat64) : Tensor();
  Tensor ref = testref::conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups);
  EXPECT_TENSOR_CLOSE(conv2d(x, w, b, c.stride, c.padding, c.dilation, c.groups), ref, 1e-10, 1e-10);
  Tensor y32 = conv2d(x.to(kFloat32), w.to(kFloat32), c.bias ? b.to(kFloat32) : Tensor(), c.stride, c.padding,
                      c.dilation, c.groups);
  EXPECT_TENSOR_CLOSE(y32.to(kFloat64), ref, 1e-4, 1e-4);
}

INSTANTIATE_TEST_SUITE_P(Cases, Conv2dForward, ::testing::ValuesIn(kConvCases),
                         [](const auto& info) { return std::string(info.param.name); });

TEST(Conv2dForward, ThreeDimInputIsOneSample) {
  Tensor x = randn({2, 5, 5}), w = randn({3, 2, 3, 3});
  EXPECT_TENSOR_CLOSE(conv2d(x, w), conv2d(x.unsqueeze(0), w).squeeze(0));
}

TEST(Conv2dForward, HalfPrecisionComputesInFloat) {
  Tensor x = randn({2, 3, 6, 6}), w = randn({4, 3, 3, 3});
  Tensor y16 = conv2d(x.to(kBFloat16), w.to(kBFloat16), Tensor(), 1, 1).to(kFloat32);
  EXPECT_TENSOR_CLOSE(y16, conv2d(x.to(kBFloat16).to(kFloat32), w.to(kBFloat16).to(kFloat32), Tensor(), 1, 1), 2e-2,
                      5e-2);
}

TEST(PoolForward, MaxPoolMatchesNaiveLoops) {
  Tensor x = randn({2, 3, 9, 8}, kFloat64);
  EXPECT_TENSOR_CLOSE(max_pool2d(x, 2), testref::pool2d(x, 2, 2, 0, false, true));
  EXPECT_TENSOR_CLOSE(max_pool2d(x, 3, Size2(2, 1), 1), testref::pool2d(x, 3, {2, 1}, 1, false, true));
  EXPECT_TENSOR_CLOSE(max_pool2d(x, 2, 2, 0, /*ceil_mode=*/true), testref::pool2d(x, 2, 2, 0, true, true));
  EXPECT_EQ(max_pool2d(x, 2, 2, 0, true).sizes(), (Shape{2, 3, 5, 4}));
  EXPECT_TENSOR_CLOSE(max_pool2d(x, 3, 2, 1, true), testref::pool2d(x, 3, 2, 1, true, true));
}

TEST(PoolForward, AvgPoolMatchesNaiveLoopsWithAndWithoutPadCounting) {
  Tensor x = randn({2, 2, 7, 6}, kFloat64);
  EXPECT_TENSOR_CLOSE(avg_pool2d(x, 2), testref::pool2d(x, 2, 2, 0, false, false));
  EXPECT_TENSOR_CLOSE(avg_pool2d(x, 3, 2, 1), testref::pool2d(x, 3, 2, 1, false, false, true));
  EXPECT_TENSOR_CLOSE(avg_pool2d(x, 3, 2, 1, false, /*count_include_pad=*/false),
                      testref::pool2d(x, 3, 2, 1, false, false, false));
  EXPECT_TENSOR_CLOSE(avg_pool2d(x, 2, 2, 1, /*ceil_mode=*/true), testref::pool2d(x, 2, 2, 1, true, false, true));
}

TEST(PoolForward, MaxPoolPropagatesNaN) {
  Tensor x = zeros({1, 1, 2, 2});
  {
    NoGradGuard g;
    x.select(2, 1).select(2, 0).fill_(std::nan(""));
  }
  EXPECT_TRUE(std::isnan(max_pool2d(x, 2).item<float>()));
}

TEST(PoolForward, AdaptiveAvgPoolAveragesOverlappingBins) {
  Tensor x = randn({2, 3, 7, 5}, kFloat64);
  Tensor y = adaptive_avg_pool2d(x, {3, 2});
  ASSERT_EQ(y.sizes(), (Shape{2, 3, 3, 2}));
  // Bin (1, 1): rows [2, 5), cols [2, 5).
  Tensor expect = x.slice(2, 2, 5).slice(3, 2, 5).mean({2, 3});
  EXPECT_TENSOR_CLOSE(y.select(2, 1).select(2, 1), expect, 1e-12, 1e-12);
  // Evenly dividing sizes equal an average pool; output 1 is the global mean.
  EXPECT_TENSOR_CLOSE(adaptive_avg_pool2d(x, 1).flatten(1), x.mean({2, 3}), 1e-12, 1e-12);
}

TEST(BatchNormForward, TrainingUsesBatchStatisticsAndUpdatesRunningStats) {
  Tensor x = randn({4, 3, 5, 5}, kFloat64) * 2.0 + 1.0;
  Tensor w = randn({3}, kFloat64), b = randn({3}, kFloat64);
  Tensor rm = zeros({3}, kFloat64), rv = ones({3}, kFloat64);
  Tensor y = batch_norm(x, w, b, rm, rv, /*training=*/true, 0.1, 1e-5);
  EXPECT_TENSOR_CLOSE(y, testref::batch_norm_train(x, w, b, 1e-5), 1e-10, 1e-10);
  EXPECT_TENSOR_CLOSE(rm, x.mean({0, 2, 3}) * 0.1, 1e-12, 1e-12);
  EXPECT_TENSOR_CLOSE(rv, x.var({0, 2, 3}, /*correction=*/1) * 0.1 + 0.9, 1e-12, 1e-12);
}

TEST(BatchNormForward, EvalUsesRunningStatistics) {
  Tensor x = randn({2, 3, 4}, kFloat64).unsqueeze(3);
  Tensor rm = tensor({0.5, -1.0, 2.0}), rv = tensor({4.0, 0.25, 1.0});
  Tensor y = batch_norm(x, Tensor(), Tensor(), rm, rv, /*training=*/false, 0.1, 0.0 + 1e-5);
  Tensor expect = (x - rm.view({1, 3, 1, 1})) / (rv.view({1, 3, 1, 1}) + 1e-5).sqrt();
  EXPECT_TENSOR_CLOSE(y, expect, 1e-12, 1e-12);
  EXPECT_TENSOR_CLOSE(rm, tensor({0.5, -1.0, 2.0}));  // untouched in eval
}

TEST(BatchNormForward, TwoDimInputNormalisesPerFeature) {
  Tensor x = randn({16, 4}, kFloat64);
  Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), true, 0.1, 1e-5);
  EXPECT_TENSOR_CLOSE(y.mean({0}), zeros({4}, kFloat64), 0, 1e-12);
  EXPECT_TENSOR_CLOSE(testref::batch_norm_train(x.view({16, 4, 1, 1}), Tensor(), Tensor(), 1e-5).view({16, 4}), y,
                      1e-10, 1e-10);
}

TEST(LinearForward, IsMatmulWithTransposedWeightPlusBias) {
  Tensor x = randn({2, 3, 4}, kFloat64), w = randn({5, 4}, kFloat64), b = randn({5}, kFloat64);
  EXPECT_TENSOR_CLOSE(linear(x, w, b), matmul(x, w.t()) + b, 1e-12, 1e-12);
  EXPECT_TENSOR_CLOSE(linear(x, w), matmul(x, w.t()), 1e-12, 1e-12);
}
