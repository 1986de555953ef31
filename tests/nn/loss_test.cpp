// Loss values against hand-written float64 formulas (PyTorch semantics).
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>

#include "support/tensor_assert.h"

using namespace kiln;

namespace {
// -log softmax(row)[t] mixed with the uniform target, per row.
double ce_row(const std::vector<double>& row, int64_t t, double eps) {
  double m = row[0], s = 0;
  for (double v : row) m = std::max(m, v);
  for (double v : row) s += std::exp(v - m);
  const double lse = m + std::log(s);
  double smooth = 0;
  for (double v : row) smooth += lse - v;
  const double C = static_cast<double>(row.size());
  return (1 - eps) * (lse - row[static_cast<size_t>(t)]) + eps / C * smooth;
}
}  // namespace

TEST(CrossEntropy, MatchesFormulaWithSmoothingAndIgnoredTargets) {
  Tensor logits = randn({4, 5}, kFloat64);
  const std::vector<int64_t> t{2, -100, 4, 0};
  Tensor target = tensor(t);
  for (double eps : {0.0, 0.3}) {
    double sum = 0;
    std::vector<double> per;
    for (int64_t i = 0; i < 4; ++i) {
      const auto row = logits.select(0, i).to_vector<double>();
      per.push_back(t[static_cast<size_t>(i)] == -100 ? 0.0 : ce_row(row, t[static_cast<size_t>(i)], eps));
      sum += per.back();
    }
    EXPECT_NEAR(cross_entropy(logits, target, -100, eps).item<double>(), sum / 3.0, 1e-12);  // 3 counted rows
    EXPECT_NEAR(cross_entropy(logits, target, -100, eps, "sum").item<double>(), sum, 1e-12);
    EXPECT_TENSOR_CLOSE(cross_entropy(logits, target, -100, eps, "none"), tensor(per), 1e-12, 1e-12);
  }
}

TEST(CrossEntropy, SpatialTargetsEqualFlattenedRows) {
  Tensor logits = randn({2, 3, 2, 2}, kFloat64);
  Tensor target = randint(0, 3, {2, 2, 2});
  Tensor rows = logits.permute({0, 2, 3, 1}).reshape({-1, 3});
  EXPECT_NEAR(cross_entropy(logits, target).item<double>(), cross_entropy(rows, target.reshape({-1})).item<double>(),
              1e-12);
  EXPECT_EQ(cross_entropy(logits, target, -100, 0, "none").sizes(), (Shape{2, 2, 2}));
}

TEST(CrossEntropy, AllTargetsIgnoredGivesNaNMean) {
  Tensor logits = randn({2, 3});
  EXPECT_TRUE(std::isnan(cross_entropy(logits, tensor({-1, -1}), -1).item<float>()));
}

TEST(CrossEntropy, IsStableForHugeLogits) {
  Tensor logits = tensor({1000.f, 0.f, -1000.f}).view({1, 3});
  EXPECT_NEAR(cross_entropy(logits, tensor({0})).item<float>(), 0.0f, 1e-6);
  EXPECT_NEAR(cross_entropy(logits, tensor({1})).item<float>(), 1000.0f, 1e-2);
}

TEST(NllLoss, PicksTheTargetLogProbability) {
  Tensor lp = log_softmax(randn({3, 4}, kFloat64), 1);
  Tensor target = tensor({3, 0, 1});
  double expect = 0;
  for (int64_t i = 0; i < 3; ++i) expect -= lp.at<double>({i, target.at<int64_t>({i})});
  EXPECT_NEAR(nll_loss(lp, target).item<double>(), expect / 3, 1e-12);
  EXPECT_NEAR(nll_loss(lp, target, 0, "sum").item<double>(), expect + lp.at<double>({1, 0}), 1e-12);
}

TEST(MseLoss, MeanSumNone) {
  Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({0.0, 2.0, 5.0});
  EXPECT_DOUBLE_EQ(mse_loss(a, b).item<double>(), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(mse_loss(a, b, "sum").item<double>(), 5.0);
  EXPECT_TENSOR_CLOSE(mse_loss(a, b, "none"), tensor({1.0, 0.0, 4.0}));
}

TEST(BinaryCrossEntropyWithLogits, MatchesNaiveFormulaAndStaysFinite) {
  Tensor x = tensor({-3.0, 0.0, 2.5, 40.0, -40.0}), y = tensor({0.0, 1.0, 0.3, 1.0, 0.0});
  std::vector<double> expect;
  for (int64_t i = 0; i < 5; ++i) {
    // -(y log p + (1-y) log(1-p)) with p = sigmoid(x), rearranged to avoid log(0).
    const double xi = x.at<double>({i}), yi = y.at<double>({i});
    expect.push_back(std::max(xi, 0.0) - xi * yi + std::log1p(std::exp(-std::abs(xi))));
  }
  EXPECT_TENSOR_CLOSE(binary_cross_entropy_with_logits(x, y, Tensor(), "none"), tensor(expect), 1e-9, 1e-12);
  Tensor big = tensor({-200.0f, 200.0f}), yb = tensor({1.0f, 0.0f});
  EXPECT_TENSOR_CLOSE(binary_cross_entropy_with_logits(big, yb, Tensor(), "none"), tensor({200.0f, 200.0f}));
}

TEST(BinaryCrossEntropyWithLogits, PosWeightScalesThePositiveTerm) {
  Tensor x = tensor({0.7, -1.2}), y = tensor({1.0, 1.0}), pw = tensor({3.0, 3.0});
  Tensor base = binary_cross_entropy_with_logits(x, y, Tensor(), "none");
  EXPECT_TENSOR_CLOSE(binary_cross_entropy_with_logits(x, y, pw, "none"), base * 3.0, 1e-12, 1e-12);
}
