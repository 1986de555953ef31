// The contract: examples/linear_regression/main.cpp, as a test. A user's
// first program must train to a small loss.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace {

TEST(Contract, LinearRegressionTrainsBelowTwoHundredths) {
  kiln::manual_seed(0);
  auto x = kiln::randn({256, 10});
  auto y = kiln::matmul(x, kiln::randn({10, 1})) + 0.1f * kiln::randn({256, 1});
  auto w = kiln::zeros({10, 1}).requires_grad_();
  auto b = kiln::zeros({1}).requires_grad_();
  kiln::Tensor loss;
  for (int step = 0; step < 300; ++step) {
    loss = (kiln::matmul(x, w) + b - y).pow(2).mean();
    loss.backward();
    kiln::NoGradGuard no_grad;
    w -= 0.05f * w.grad();  b -= 0.05f * b.grad();
    w.grad().zero_();       b.grad().zero_();
  }
  EXPECT_LT(loss.item<float>(), 0.02f);
  EXPECT_GT(loss.item<float>(), 0.0f);
  EXPECT_EQ(loss.dim(), 0);
  EXPECT_TRUE(w.is_leaf());
}

}  // namespace
