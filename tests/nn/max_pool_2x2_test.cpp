// The CPU's dedicated 2x2 / stride 2 max pool (src/cpu/pool2d_cpu.cpp: AVX-512
// lanes of sixteen outputs with a masked tail, or SSE lanes of four plus a
// scalar tail) keeps the generic loop's rules: same values, the first maximum
// of a window gets the gradient, NaN wins.
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

// Every row length around the lane widths (4 and 16 outputs): the values
// against the naive loops, and the gradient, which goes where the forward's
// index points, against each window's first maximum found by a plain loop.
TEST(MaxPool2x2, EveryRowLengthMatchesTheNaiveLoopsAndItsIndices) {
  for (int64_t wo : {1, 2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33}) {
    const int64_t H = 4, W = 2 * wo + 1;  // an odd width: the last column is dropped
    Tensor x = randn({2, 2, H, W}, kFloat32);
    EXPECT_TENSOR_CLOSE(max_pool2d(x, 2), testref::pool2d(x.to(kFloat64), 2, 2, 0, false, true).to(kFloat32))
        << "Wo " << wo;
    const float* xp = x.data_ptr<float>();
    std::vector<double> expected(static_cast<size_t>(x.numel()), 0.0);
    for (int64_t plane = 0; plane < 4; ++plane)
      for (int64_t oh = 0; oh < H / 2; ++oh)
        for (int64_t ow = 0; ow < wo; ++ow) {
          int64_t best = plane * H * W + 2 * oh * W + 2 * ow;
          for (int64_t at : {best + 1, best + W, best + W + 1})
            if (xp[at] > xp[best]) best = at;
          expected[static_cast<size_t>(best)] = 1.0;
        }
    EXPECT_TENSOR_CLOSE(pool_grad(x), tensor(expected, {2, 2, H, W}).to(kFloat32)) << "Wo " << wo;
  }
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
  // Twenty outputs in a row (a block of sixteen and a tail of four, or five
  // blocks of four); the NaN sits at a different window position in each.
  constexpr int kWo = 20, kW = 2 * kWo;
  Tensor x = zeros({1, 1, 2, kW});
  std::vector<double> expected_grad(2 * kW, 0.0);
  {
    NoGradGuard guard;
    x.fill_(5.0);
    for (int ow = 0; ow < kWo; ++ow) {
      const int pos = ow % 4;  // 0: top-left, 1: top-right, 2: bottom-left, 3: bottom-right
      const int h = pos / 2, w = 2 * ow + pos % 2;
      x.select(2, h).select(2, w).fill_(std::nan(""));
      expected_grad[static_cast<size_t>(h * kW + w)] = 1.0;
    }
  }
  Tensor y = max_pool2d(x, 2);
  for (int ow = 0; ow < kWo; ++ow) EXPECT_TRUE(std::isnan(y.select(3, ow).item<float>())) << "output " << ow;
  EXPECT_TENSOR_CLOSE(pool_grad(x), tensor(expected_grad, {1, 1, 2, kW}).to(kFloat32));
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
