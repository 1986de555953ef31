// The CPU cross entropy's row passes (src/cpu/cross_entropy_cpu.cpp): rows
// of any length, masked (-inf) classes and NaN logits give what the
// unfused composition gives.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <limits>
#include <vector>

#include "support/tensor_assert.h"

namespace kiln {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();

TEST(CpuCrossEntropyRows, MatchTheFloat64CompositionForEveryRowLength) {
  manual_seed(5);
  for (int64_t C : {1, 7, 31, 32, 33, 64, 257, 1000}) {
    Tensor x = (randn({6, C}) * 4.0).requires_grad_();
    const Tensor t = randint(0, C, {6});
    Tensor x64 = x.detach().to(kFloat64).requires_grad_();
    cross_entropy(x, t, -100, 0.1).backward();
    const Tensor expected = -(log_softmax(x64, 1) * (one_hot(t, C).to(kFloat64) * 0.9 + 0.1 / C)).sum(1).mean();
    expected.backward();
    EXPECT_TENSOR_CLOSE(cross_entropy(x.detach(), t, -100, 0.1), expected.to(kFloat32), 1e-5, 1e-6) << "C = " << C;
    EXPECT_TENSOR_CLOSE(x.grad(), x64.grad().to(kFloat32), 1e-4, 1e-6) << "C = " << C;
  }
}

TEST(CpuCrossEntropyRows, MaskedClassesAndNanLogits) {
  std::vector<float> row(40, 0.5f);
  row[3] = 2.0f;
  for (int k = 10; k < 40; ++k) row[static_cast<size_t>(k)] = -kInf;  // masked classes
  Tensor x = tensor(row, {1, 40}).requires_grad_();
  const Tensor t = tensor(std::vector<int64_t>{3});
  Tensor loss = cross_entropy(x, t);
  loss.backward();
  const Tensor finite = tensor(std::vector<float>(row.begin(), row.begin() + 10), {1, 10});
  EXPECT_TENSOR_CLOSE(loss, cross_entropy(finite, t), 1e-6, 1e-7);
  const std::vector<float> g = x.grad().to_vector<float>();
  for (int k = 10; k < 40; ++k) EXPECT_EQ(g[static_cast<size_t>(k)], 0.0f) << "class " << k;

  row[20] = std::numeric_limits<float>::quiet_NaN();
  EXPECT_TRUE(std::isnan(cross_entropy(tensor(row, {1, 40}), t).item<float>()));
  std::vector<float> all_nan(40, std::numeric_limits<float>::quiet_NaN());
  EXPECT_TRUE(std::isnan(cross_entropy(tensor(all_nan, {1, 40}), t).item<float>()));
}

}  // namespace
}  // namespace kiln
