// The autograd engine's promises: accumulation, graph freeing, grad mode,
// hooks, retain_grad, autograd::grad, and the errors for misuse.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "autograd/node.h"  // grad_fn()->name()
#include "support/tensor_assert.h"

namespace kiln {
namespace {

template <class E, class Fn>
std::string message_of(Fn&& fn) {
  try {
    fn();
  } catch (const E& e) {
    return e.what();
  } catch (const std::exception& e) {
    return std::string("wrong exception type: ") + e.what();
  }
  return "no exception";
}

TEST(Backward, GradientsAccumulateAcrossCalls) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  (x * x).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{2, 4}));
  (x * 3).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{5, 7}));
  x.grad().zero_();
  (x * 3).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{3, 3}));
}

TEST(Backward, AVariableUsedTwiceGetsBothContributions) {
  Tensor x = scalar_tensor(3.0, kFloat64).requires_grad_();
  Tensor y = x * x + x * 2 + exp(x - x);  // dy/dx = 2x + 2
  y.backward();
  EXPECT_DOUBLE_EQ(x.grad().item<double>(), 8.0);
}

// A first gradient becomes .grad() without a copy when nothing else holds
// it; otherwise .grad() is a copy, so writing into it changes nothing else.
TEST(Backward, AnUnsharedGradientBecomesDotGradWithoutACopy) {
  Tensor x = ones({4}).requires_grad_();
  const void* fresh = nullptr;
  x.register_hook([&](const Tensor& g) {
    Tensor doubled = g * 2;
    fresh = doubled.raw_data_ptr();
    return doubled;
  });
  (x * 3).sum().backward();
  EXPECT_EQ(x.grad().raw_data_ptr(), fresh);
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{6, 6, 6, 6}));
}

TEST(Backward, ALinearLayersWeightGradientIsNotCopied) {
  // Its gradient is the transpose of the product for weight.t(): a view
  // whose base is gone by the time it reaches the weight.
  Tensor w = randn({5, 3}).requires_grad_();
  const Tensor x = randn({4, 3});
  const void* product = nullptr;
  Tensor y = matmul(x, w.t());
  w.register_hook([&](const Tensor& g) {
    product = g.raw_data_ptr();
    return Tensor();
  });
  y.sum().backward();
  EXPECT_EQ(w.grad().raw_data_ptr(), product);
  EXPECT_TENSOR_CLOSE(w.grad(), matmul(ones({4, 5}).t(), x));
}

TEST(Backward, LinearIsOneNodeWhoseWeightAndBiasGradientsAreNotCopied) {
  Tensor w = randn({5, 3}).requires_grad_(), b = randn({5}).requires_grad_();
  const Tensor x = randn({2, 4, 3});
  const void* weight_grad = nullptr;
  w.register_hook([&](const Tensor& g) {
    weight_grad = g.raw_data_ptr();
    return Tensor();
  });
  Tensor y = linear(x, w, b);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_EQ(y.grad_fn()->name(), "LinearBackward");
  y.sum().backward();
  EXPECT_EQ(w.grad().raw_data_ptr(), weight_grad);
  EXPECT_TENSOR_CLOSE(w.grad(), matmul(ones({8, 5}).t(), x.reshape({8, 3})));
  EXPECT_TENSOR_CLOSE(b.grad(), full({5}, 8.0));
}

TEST(Backward, ChunksShareOneNodeAndPartsNoGradientReachedGetZeros) {
  Tensor x = tensor(std::vector<double>{1, 2, 3, 4, 5, 6}).requires_grad_();
  std::vector<Tensor> parts = x.chunk(3);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[0].grad_fn()->name(), "SplitBackward");
  EXPECT_EQ(parts[0].grad_fn(), parts[2].grad_fn());
  (parts[0] * 2.0 + parts[2] * 3.0).sum().backward();  // parts[1] is not used
  EXPECT_TENSOR_CLOSE(x.grad(), tensor(std::vector<double>{2, 2, 0, 0, 3, 3}));
  // A hook on one part sees that part's gradient only.
  Tensor y = tensor(std::vector<double>{1, 2, 3, 4}).requires_grad_();
  std::vector<Tensor> halves = y.split(2);
  Tensor seen;
  halves[1].register_hook([&](const Tensor& g) {
    seen = g.clone();
    return Tensor();
  });
  (halves[0] * 5.0 + halves[1] * 7.0).sum().backward();
  EXPECT_TENSOR_CLOSE(seen, full({2}, 7.0, kFloat64));
  EXPECT_TENSOR_CLOSE(y.grad(), tensor(std::vector<double>{5, 5, 7, 7}));
}

TEST(Backward, TwoLeavesGivenOneGradientGetBuffersOfTheirOwn) {
  Tensor a = zeros({3}).requires_grad_(), b = zeros({3}).requires_grad_();
  ((a + b) * tensor({1.0f, 2.0f, 3.0f})).sum().backward();  // add's backward passes one tensor to both
  a.grad().add_(10);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{11, 12, 13}));
  EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(Backward, AGradientTheCallerStillHoldsIsCopiedIntoDotGrad) {
  Tensor x = zeros({3}).requires_grad_();
  Tensor kept;
  x.register_hook([&](const Tensor& g) { return kept = g + 1; });
  (x * 1).sum().backward();
  x.grad().add_(5);
  EXPECT_EQ(kept.to_vector<float>(), (std::vector<float>{2, 2, 2}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{7, 7, 7}));

  Tensor y = zeros({3}).requires_grad_();
  const Tensor seed = tensor({1.0f, 2.0f, 3.0f});
  (y + 0).backward(seed);
  y.grad().mul_(0);
  EXPECT_EQ(seed.to_vector<float>(), (std::vector<float>{1, 2, 3}));
}

TEST(Backward, SecondBackwardWithoutRetainGraphThrows) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor loss = (x * x).sum();
  loss.backward();
  const std::string msg = message_of<AutogradError>([&] { loss.backward(); });
  EXPECT_NE(msg.find("second time"), std::string::npos) << msg;
  EXPECT_NE(msg.find("retain_graph"), std::string::npos) << msg;
}

TEST(Backward, RetainGraphAllowsASecondBackward) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor loss = (x * x).sum();
  loss.backward(Tensor(), /*retain_graph=*/true);
  loss.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{4, 8}));
}

TEST(Backward, NonScalarNeedsAGradient) {
  Tensor x = ones({2, 3}).requires_grad_();
  Tensor y = x * 2;
  const std::string msg = message_of<AutogradError>([&] { y.backward(); });
  EXPECT_NE(msg.find("[2, 3]"), std::string::npos) << msg;
  y.backward(full({2, 3}, 0.5));
  EXPECT_EQ(x.grad().to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_THROW((x * 2).backward(ones({3, 2})), ShapeError);
}

TEST(Backward, OnATensorWithoutHistoryThrows) {
  const std::string msg = message_of<AutogradError>([] { ones({1}).backward(); });
  EXPECT_NE(msg.find("does not require grad"), std::string::npos) << msg;
}

TEST(GradMode, NoGradGuardStopsRecording) {
  Tensor x = ones({2}).requires_grad_();
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(GradMode::is_enabled());
    Tensor y = x * 2;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_EQ(y.grad_fn(), nullptr);
    {
      EnableGradGuard enable;
      EXPECT_TRUE((x * 2).requires_grad());
    }
    EXPECT_FALSE(GradMode::is_enabled());
  }
  EXPECT_TRUE(GradMode::is_enabled());
  EXPECT_TRUE((x * 2).requires_grad());
}

TEST(GradMode, UpdatingALeafUnderNoGradIsAllowed) {
  Tensor w = ones({2}).requires_grad_();
  (w * 2).sum().backward();
  {
    NoGradGuard no_grad;
    w -= 0.5f * w.grad();
  }
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{0, 0}));
  EXPECT_TRUE(w.is_leaf());
  EXPECT_TRUE(w.requires_grad());
}

TEST(Detach, SharesDataButNotHistory) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = x * 3;
  Tensor d = y.detach();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_TRUE(d.is_leaf());
  EXPECT_TRUE(d.shares_storage(y));
  Tensor z = (d * x).sum();
  z.backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{3, 3})) << "no gradient flows through d";
}

TEST(Hooks, LeafHookSeesAndCanReplaceTheGradient) {
  Tensor x = ones({3}).requires_grad_();
  Tensor seen;
  x.register_hook([&](const Tensor& g) { seen = g.clone(); });
  const size_t doubler = x.register_hook([](const Tensor& g) { return g * 2; });
  (x * 5).sum().backward();
  EXPECT_EQ(seen.to_vector<float>(), (std::vector<float>{5, 5, 5}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{10, 10, 10}));
  x.remove_hook(doubler);
  x.grad().zero_();
  (x * 5).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{5, 5, 5})) << "removed hook no longer runs";
}

TEST(Hooks, NonLeafHookChangesWhatFlowsUpstream) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = x * 3;
  Tensor seen;
  y.register_hook([&](const Tensor& g) { seen = g.clone(); });
  const size_t h = y.register_hook([](const Tensor& g) { return g * 10; });
  (y * 2).sum().backward(Tensor(), true);
  EXPECT_EQ(seen.to_vector<float>(), (std::vector<float>{2, 2}));
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{60, 60}));
  y.remove_hook(h);
  x.grad().zero_();
  (y * 2).sum().backward();
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{6, 6}));
}

TEST(Hooks, NeedATensorThatRequiresGrad) {
  EXPECT_THROW(ones({2}).register_hook([](const Tensor&) {}), AutogradError);
}

TEST(RetainGrad, KeepsTheGradientOfANonLeaf) {
  Tensor x = tensor({1.0f, 2.0f}).requires_grad_();
  Tensor y = x * x;
  Tensor z = x * 4;
  y.retain_grad();
  (y * 3 + z).sum().backward();
  EXPECT_EQ(y.grad().to_vector<float>(), (std::vector<float>{3, 3}));
  EXPECT_FALSE(z.grad().defined()) << "only retained non-leaves keep .grad()";
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{10, 16}));
}

TEST(AutogradGrad, ReturnsGradientsWithoutTouchingDotGrad) {
  Tensor x = tensor({1.0, 2.0, 3.0}).requires_grad_();
  Tensor w = tensor({2.0, 0.5, -1.0}).requires_grad_();
  Tensor y = (x * x * w).sum();
  auto g = autograd::grad({y}, {x, w});
  ASSERT_EQ(g.size(), 2u);
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{4, 2, -6}));
  EXPECT_EQ(g[1].to_vector<double>(), (std::vector<double>{1, 4, 9}));
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(w.grad().defined());
  Tensor y2 = (x * w).sum();
  auto gx = autograd::grad({y2}, {x});
  EXPECT_EQ(gx[0].to_vector<double>(), (std::vector<double>{2, 0.5, -1}));
  EXPECT_FALSE(w.grad().defined()) << "other leaves are not accumulated either";
}

TEST(AutogradGrad, WithGradOutputsAndUnusedInputs) {
  Tensor x = ones({2}).requires_grad_();
  Tensor unused = ones({2}).requires_grad_();
  Tensor y = x * 3;
  auto g = autograd::grad({y}, {x, unused}, {tensor({1.0f, 2.0f})}, /*retain_graph=*/true, /*create_graph=*/false,
                          /*allow_unused=*/true);
  EXPECT_EQ(g[0].to_vector<float>(), (std::vector<float>{3, 6}));
  EXPECT_FALSE(g[1].defined());
  EXPECT_THROW(autograd::grad({y}, {x, unused}, {ones({2})}), AutogradError);
}

TEST(InPlace, OnALeafThatRequiresGradThrows) {
  Tensor w = ones({2}).requires_grad_();
  const std::string msg = message_of<AutogradError>([&] { w.add_(1); });
  EXPECT_NE(msg.find("add_"), std::string::npos) << msg;
  EXPECT_NE(msg.find("leaf"), std::string::npos) << msg;
  EXPECT_THROW(w.mul_(ones({2})), AutogradError);
  EXPECT_THROW(w.copy_(zeros({2})), AutogradError);
  EXPECT_THROW(w.fill_(0), AutogradError);
}

TEST(InPlace, ModifyingASavedTensorIsCaughtAtBackward) {
  Tensor x = ones({3}).requires_grad_();
  Tensor a = x * 2;
  Tensor b = a * a;  // saves a
  a.add_(1);
  const std::string msg = message_of<AutogradError>([&] { b.sum().backward(); });
  EXPECT_NE(msg.find("modified by an in-place operation"), std::string::npos) << msg;
  EXPECT_NE(msg.find("MulBackward"), std::string::npos) << msg;
}

TEST(InPlace, OnANonLeafIsDifferentiated) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y = x * 2;
  y.mul_(x);  // y = 2x^2
  y.add_(x);  // y = 2x^2 + x
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{5, 9}));
}

TEST(InPlace, WritingIntoAViewOfARequiresGradTensorThrows) {
  Tensor x = ones({2, 2}).requires_grad_();
  Tensor y = x * 1;
  EXPECT_THROW(y[0].add_(1), AutogradError);
}

TEST(ViewsAndBroadcasting, GradientsFlowBackThroughBoth) {
  Tensor x = arange(6, kFloat64).reshape({2, 3}).requires_grad_();
  Tensor b = tensor({1.0, 2.0, 3.0}).requires_grad_();
  // Transpose, slice, select, expand and broadcasting in one graph.
  Tensor y = (x.t().slice(0, 0, 3, 2) * 2).sum() + (x[1] * b).sum() + b.unsqueeze(0).expand({4, 3}).sum();
  y.backward();
  // d/dx: 2 on rows 0 and 2 of x^T (columns 0 and 2 of x), plus b on x[1].
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 0, 2, 3, 2, 5}));
  // d/db: x[1] plus 4 from the expand.
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{7, 8, 9}));
}

TEST(Gradcheck, CatchesAWrongGradient) {
  Tensor x = tensor({0.3, -1.2, 2.0}).requires_grad_();
  auto right = [](const std::vector<Tensor>& v) { return v[0] * v[0]; };
  EXPECT_TRUE(autograd::gradcheck(right, {x}).ok);
  auto wrong = [](const std::vector<Tensor>& v) {
    Tensor y = v[0] * v[0];
    // Doubles the gradient (gradcheck's numeric passes run without grad).
    if (y.requires_grad()) y.register_hook([](const Tensor& g) { return g * 2; });
    return y;
  };
  const autograd::GradcheckResult r = autograd::gradcheck(wrong, {x});
  EXPECT_FALSE(r.ok);
  EXPECT_NE(r.report.find("FAILED"), std::string::npos) << r.report;
  EXPECT_NEAR(r.analytic, 2 * r.numeric, 1e-6);
}

TEST(Gradcheck, RefusesNonFloat64Inputs) {
  Tensor x = ones({2}).requires_grad_();
  EXPECT_THROW(autograd::gradcheck([](const std::vector<Tensor>& v) { return v[0] * 2; }, {x}), DTypeError);
}

TEST(RequiresGrad, IntegerTensorsRefuse) {
  for (DType t : {kInt64, kInt32, kUInt8, kBool}) {
    Tensor i = zeros({2}, t);
    const std::string msg = message_of<DTypeError>([&] { i.requires_grad_(); });
    EXPECT_NE(msg.find(dtype_name(t)), std::string::npos) << msg;
  }
  EXPECT_NO_THROW(zeros({2}, kInt64).requires_grad_(false));
}

TEST(RequiresGrad, OnlyLeavesCanTurnItOff) {
  Tensor x = ones({2}).requires_grad_();
  Tensor y = x * 2;
  EXPECT_THROW(y.requires_grad_(false), AutogradError);
  x.requires_grad_(false);
  EXPECT_FALSE(x.requires_grad());
}

TEST(Dtypes, GradientHasTheInputsDtype) {
  Tensor h = ones({3}, kFloat16).requires_grad_();
  Tensor d = ones({3}, kFloat64).requires_grad_();
  (h * d).sum().backward();  // computed in f64
  EXPECT_EQ(h.grad().dtype(), kFloat16);
  EXPECT_EQ(d.grad().dtype(), kFloat64);
  Tensor f = ones({2}).requires_grad_();
  f.to(kFloat64).sum().backward();
  EXPECT_EQ(f.grad().dtype(), kFloat32);
  EXPECT_FALSE(f.to(kInt64).requires_grad()) << "an integer copy carries no history";
}

}  // namespace
}  // namespace kiln
