// dropout: statistics of the Philox mask and the identity cases.
#include <gtest/gtest.h>

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
