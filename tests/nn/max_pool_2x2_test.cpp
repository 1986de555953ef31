// The CPU's dedicated 2x2 / stride 2 max pool (SSE lanes of four outputs plus
// a scalar tail, src/cpu/pool2d_cpu.cpp) keeps the generic loop's rules: same
// values, the first maximum of a window gets the gradient, NaN wins.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <vector>

#include "naive_reference.h"
#include "support/tensor_assert.h"

using namespace kiln;

namespace {
// Gradient of sum(max_pool2d(x, 2)) with respect to x.
Tensor pool_grad(const Tensor& x_) {
  Tensor x = x_.detach().requires_grad_(true);
  max_pool2d(x, 2).sum().backward();
  return x.grad();
}
}  // namespace

TEST(MaxPool2x2, MatchesNaiveLoopsInF32AcrossVectorBodyAndTail) {
  // Wo = 9: two SSE blocks of four plus one scalar output; odd H and W drop
  // the last row and column.
  Tensor x = randn({2, 3, 11, 19}, kFloat32);
  EXPECT_TENSOR_CLOSE(max_pool2d(x, 2), testref::pool2d(x.to(kFloat64), 2, 2, 0, false, true).to(kFloat32));
  Tensor xd = randn({2, 3, 11, 19}, kFloat64);
  EXPECT_TENSOR_CLOSE(max_pool2d(xd, 2), testref::pool2d(xd, 2, 2, 0, false, true));
}

TEST(MaxPool2x2, TiesSendTheGradientToTheFirstElementOfEachWindow) {
  for (DType dt : {kFloat32, kFloat64}) {
    Tensor g = pool_grad(ones({1, 1, 4, 10}, dt));
    std::vector<double> expected(40, 0.0);
    for (int oh = 0; oh < 2; ++oh)
      for (int ow = 0; ow < 5; ++ow) expected[static_cast<size_t>(2 * oh * 10 + 2 * ow)] = 1.0;
    EXPECT_TENSOR_CLOSE(g, tensor(expected, {1, 1, 4, 10}).to(dt));
  }
}

TEST(MaxPool2x2, NaNWinsItsWindowInEveryLane) {
  // Ten outputs in a row (two SSE blocks and a tail of two); the NaN sits at a
  // different window position in each, after a larger number in some.
  Tensor x = zeros({1, 1, 2, 20});
  std::vector<double> expected_grad(40, 0.0);
  {
    NoGradGuard guard;
    x.fill_(5.0);
    for (int ow = 0; ow < 10; ++ow) {
      const int pos = ow % 4;  // 0: top-left, 1: top-right, 2: bottom-left, 3: bottom-right
      const int h = pos / 2, w = 2 * ow + pos % 2;
      x.select(2, h).select(2, w).fill_(std::nan(""));
      expected_grad[static_cast<size_t>(h * 20 + w)] = 1.0;
    }
  }
  Tensor y = max_pool2d(x, 2);
  for (int ow = 0; ow < 10; ++ow) EXPECT_TRUE(std::isnan(y.select(3, ow).item<float>())) << "output " << ow;
  EXPECT_TENSOR_CLOSE(pool_grad(x), tensor(expected_grad, {1, 1, 2, 20}).to(kFloat32));
}

TEST(MaxPool2x2, LargestValueWinsAtEveryWindowPosition) {
  Tensor x = zeros({1, 1, 2, 16});
  std::vector<double> expected_grad(32, 0.0);
  {
    NoGradGuard guard;
    for (int ow = 0; ow < 8; ++ow) {
      const int pos = (ow * 3) % 4, h = pos / 2, w = 2 * ow + pos % 2;
      x.select(2, h).select(2, w).fill_(1.0 + ow);
      expected_grad[static_cast<size_t>(h * 16 + w)] = 1.0;
    }
  }
  EXPECT_TENSOR_CLOSE(max_pool2d(x, 2), tensor(std::vector<double>{1, 2, 3, 4, 5, 6, 7, 8}, {1, 1, 1, 8}).to(kFloat32));
  EXPECT_TENSOR_CLOSE(pool_grad(x), tensor(expected_grad, {1, 1, 2, 16}).to(kFloat32));
}
