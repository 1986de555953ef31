// dropout: statistics of the Philox mask, on any shape and layout, its
// gradient, and the identity cases.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <kiln/kiln.h>
#include <kiln/nn.h>

#include "support/tensor_assert.h"

using namespace kiln;

TEST(Dropout, KeepsTheMeanAndDropsAboutPOfTheElements) {
  manual_seed(11);
  Tensor x = ones({200000});
  Tensor y = dropout(x, 0.3, true);
  const double zero_fraction = (y == 0.0f).to(kFloat64).mean().item<double>();
  EXPECT_NEAR(zero_fraction, 0.3, 0.005);
  EXPECT_NEAR(y.to(kFloat64).mean().item<double>(), 1.0, 0.01);
  // Kept elements are scaled by 1/(1-p).
  EXPECT_NEAR(y.max().item<float>(), 1.0f / 0.7f, 1e-6);
}

TEST(Dropout, ZeroProbabilityAndEvalAreIdentity) {
  Tensor x = randn({64});
  EXPECT_TRUE(equal(dropout(x, 0.0, true), x));
  EXPECT_TRUE(equal(dropout(x, 0.9, false), x));
  nn::Dropout layer(0.5);
  layer->eval();
  EXPECT_TRUE(equal(layer(x), x));
}

TEST(Dropout, ProbabilityOneZeroesEverything) {
  EXPECT_EQ(dropout(ones({10}), 1.0, true).abs().sum().item<float>(), 0.0f);
}

TEST(Dropout, GradientFlowsOnlyThroughKeptElements) {
  manual_seed(5);
  Tensor x = ones({1000}).requires_grad_();
  Tensor y = dropout(x, 0.5, true);
  y.sum().backward();
  EXPECT_TENSOR_CLOSE(x.grad(), y.detach());  // dy/dx = mask * 2 = y when x = 1
}

TEST(Dropout, SameSeedSameMask) {
  manual_seed(3);
  Tensor a = dropout(ones({100}), 0.5, true);
  manual_seed(3);
  Tensor b = dropout(ones({100}), 0.5, true);
  EXPECT_TRUE(equal(a, b));
}

TEST(Dropout, RejectsProbabilityOutsideZeroOne) {
  EXPECT_THROW(dropout(ones({2}), 1.5, true), ValueError);
  EXPECT_THROW(nn::Dropout(-0.1), ValueError);
}

// On a [4, 8, 16, 32] input and on a transposed (non-contiguous) view of
// one: the output keeps the shape; each element is 0 or x / (1 - p); the
// kept count is within 5 binomial standard deviations of n (1 - p); the
// gradient is the same mask times 1 / (1 - p); no two of the outer slices
// share a mask.
TEST(Dropout, AnyShapeZeroesOrScalesEachElementAndTheGradientUsesTheSameMask) {
  const double p = 0.3, scale = 1.0 / (1.0 - p);
  manual_seed(12);
  for (bool transposed : {false, true}) {
    Tensor leaf = (rand({4, 8, 16, 32}) + 0.5).requires_grad_();  // no zeros: y = 0 exactly where dropped
    Tensor x = transposed ? leaf.transpose(1, 3) : leaf;
    ASSERT_EQ(x.is_contiguous(), !transposed);
    Tensor y = dropout(x, p, true);
    EXPECT_EQ(y.sizes(), x.sizes());
    Tensor g = randn(x.sizes());
    (y * g).sum().backward();
    Tensor dx = transposed ? leaf.grad().transpose(1, 3) : leaf.grad();
    const std::vector<double> xv = x.to_vector<double>(), yv = y.to_vector<double>(), gv = g.to_vector<double>(),
                              dv = dx.to_vector<double>();
    const int64_t n = x.numel();
    int64_t kept = 0, bad_value = 0, bad_grad = 0;
    for (size_t i = 0; i < xv.size(); ++i) {
      if (yv[i] == 0) {
        bad_grad += dv[i] != 0;
      } else {
        ++kept;
        bad_value += std::abs(yv[i] - xv[i] * scale) > 1e-6 * std::abs(xv[i] * scale);
        bad_grad += std::abs(dv[i] - gv[i] * scale) > 1e-6 * std::abs(gv[i] * scale) + 1e-12;
      }
    }
    EXPECT_EQ(bad_value, 0) << "elements neither 0 nor x / (1 - p), transposed " << transposed;
    EXPECT_EQ(bad_grad, 0) << "gradient elements not mask * g / (1 - p), transposed " << transposed;
    const double sd = std::sqrt(n * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(kept), n * (1 - p), 5 * sd) << "transposed " << transposed;
    // The mask is drawn per element, not repeated along the leading dim.
    const int64_t slice = n / 4;
    for (int64_t a = 0; a < 4; ++a)
      for (int64_t b = a + 1; b < 4; ++b) {
        int64_t same = 0;
        for (int64_t j = 0; j < slice; ++j) same += (yv[a * slice + j] == 0) == (yv[b * slice + j] == 0);
        EXPECT_LT(same, slice) << "slices " << a << " and " << b << " have one mask, transposed " << transposed;
      }
  }
}

TEST(Dropout, SameSeedRepeatsOnANonContiguousInputAndTheModuleDrawsTheSame) {
  Tensor x = randn({8, 16, 32}).transpose(0, 2);
  manual_seed(31);
  Tensor a = dropout(x, 0.4, true);
  manual_seed(31);
  Tensor b = dropout(x, 0.4, true);
  manual_seed(32);
  Tensor c = dropout(x, 0.4, true);
  EXPECT_TRUE(equal(a, b));
  EXPECT_FALSE(equal(a, c));
  nn::Dropout layer(0.4);
  manual_seed(31);
  EXPECT_TRUE(equal(layer(x), a));
}
