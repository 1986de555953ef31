// Tensor hooks under autograd::grad: as in PyTorch, a leaf's hooks run on the
// gradient grad() returns for it (and may replace it), without touching .grad().
#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace kiln {
namespace {

TEST(AutogradGradHooks, LeafHookSeesTheCapturedGradient) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor seen;
  x.register_hook([&](const Tensor& g) { seen = g.clone(); });
  auto g = autograd::grad({(x * 3).sum()}, {x});
  ASSERT_TRUE(seen.defined()) << "the leaf's hook did not run";
  EXPECT_EQ(seen.to_vector<float>(), (std::vector<float>{3, 3}));
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{3, 3}));
  EXPECT_FALSE(x.grad().defined()) << "grad() must not accumulate into .grad()";
}

TEST(AutogradGradHooks, LeafHookCanReplaceTheReturnedGradient) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor w = tensor({4.0f, 5.0f}).requires_grad_();
  x.register_hook([](const Tensor& g) { return g * 10; });
  auto g = autograd::grad({(x * w).sum()}, {x, w});
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{40, 50})) << "x's hook replaces its gradient";
  EXPECT_EQ(g[1].to_vector<float>(), (std::vector<float>{1, 2})) << "w has no hook";
}

TEST(AutogradGradHooks, HooksRunInRegistrationOrderAndRemovedOnesDoNot) {
  Tensor x = tensor({1.0f}).requires_grad_();
  x.register_hook([](const Tensor& g) { return g + 1; });
  const size_t doubler = x.register_hook([](const Tensor& g) { return g * 2; });
  EXPECT_EQ(autograd::grad({x * 3}, {x})[0].item<float>(), 8.0f) << "(3 + 1) * 2";
  x.remove_hook(doubler);
  EXPECT_EQ(autograd::grad({x * 3}, {x})[0].item<float>(), 4.0f);
}

TEST(AutogradGradHooks, NonLeafInputHookStillRuns) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor y = x * 2;
  y.register_hook([](const Tensor& g) { return g * 5; });
  auto g = autograd::grad({(y * 3).sum()}, {y});
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{15, 15}));
}

}  // namespace
}  // namespace kiln
