// Custom autograd functions (kiln/autograd/function.h), written as a
// LibTorch program writes them, and the LibTorch-shaped entry points
// autograd::backward / autograd::grad, AutoGradMode and enable_grad.
#include <gtest/gtest.h>

#include <optional>

#include <kiln/kiln.h>

#include "autograd/node.h"
#include "support/tensor_assert.h"

namespace kiln {
namespace {

using autograd::AutogradContext;
using autograd::variable_list;

// y = tanh(x) * alpha, saving the output and a double.
struct ScaledTanh : autograd::Function<ScaledTanh> {
  static Tensor forward(AutogradContext* ctx, Tensor x, double alpha) {
    Tensor y = kiln::tanh(x) * alpha;
    ctx->save_for_backward({y});
    ctx->saved_data["alpha"] = alpha;
    return y;
  }
  static variable_list backward(AutogradContext* ctx, variable_list grad_outputs) {
    Tensor y = ctx->get_saved_variables()[0];
    const double alpha = ctx->saved_data["alpha"].toDouble();
    return {grad_outputs[0] * (alpha - y * y / alpha), Tensor()};
  }
};

// Two inputs, two outputs: (a * b, a + b). Counts its backward calls.
int mul_add_backward_calls = 0;
struct MulAdd : autograd::Function<MulAdd> {
  static variable_list forward(AutogradContext* ctx, Tensor a, Tensor b) {
    ctx->save_for_backward({a, b});
    return {a * b, a + b};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    ++mul_add_backward_calls;
    auto saved = ctx->get_saved_variables();
    Tensor ga, gb;
    if (ctx->needs_input_grad(0)) ga = g[0] * saved[1] + g[1];
    if (ctx->needs_input_grad(1)) gb = g[0] * saved[0] + g[1];
    return {ga, gb};
  }
};

// Records whether the gradient of its second output arrived undefined.
bool second_grad_was_defined = true;
struct TwoOutputsNoMaterialize : autograd::Function<TwoOutputsNoMaterialize> {
  static variable_list forward(AutogradContext* ctx, Tensor x) {
    ctx->set_materialize_grads(false);
    return {x * 2, x * 3};
  }
  static variable_list backward(AutogradContext*, variable_list g) {
    second_grad_was_defined = g[1].defined();
    return {g[0] * 2};
  }
};

// Sorted values (differentiable) and the permutation (marked non-differentiable).
struct SortWithIndices : autograd::Function<SortWithIndices> {
  static variable_list forward(AutogradContext* ctx, Tensor x) {
    Tensor idx = argsort_1d(x);
    Tensor values = x.index_select(0, idx);
    Tensor idx_float = idx.to(x.dtype());
    ctx->mark_non_differentiable({idx_float});
    ctx->save_for_backward({idx});
    return {values, idx_float};
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    Tensor idx = ctx->get_saved_variables()[0];
    return {zeros_like(g[0]).scatter_add(0, idx, g[0])};
  }
  // A small host sort: the ordering of a 1-D tensor as int64.
  static Tensor argsort_1d(const Tensor& x) {
    std::vector<double> v = x.to(kFloat64).to_vector<double>();
    std::vector<int64_t> order(v.size());
    for (size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
    std::sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return v[a] < v[b]; });
    return tensor(order, {static_cast<int64_t>(order.size())}, kInt64);
  }
};

// x *= 2 in place; the input is marked dirty and returned.
struct DoubleInPlace : autograd::Function<DoubleInPlace> {
  static Tensor forward(AutogradContext* ctx, Tensor x) {
    x.mul_(2);
    ctx->mark_dirty({x});
    return x;
  }
  static variable_list backward(AutogradContext*, variable_list g) { return {g[0] * 2}; }
};

// Sum over a list of tensors plus an optional bias and an int scale.
struct WeightedSum : autograd::Function<WeightedSum> {
  static Tensor forward(AutogradContext* ctx, std::vector<Tensor> xs, std::optional<Tensor> bias, int64_t scale) {
    ctx->saved_data["n"] = static_cast<int64_t>(xs.size());
    ctx->saved_data["scale"] = scale;
    ctx->saved_data["has_bias"] = bias.has_value();
    Tensor out = zeros_like(xs[0]);
    for (const Tensor& x : xs) out = out + x * static_cast<double>(scale);
    if (bias) out = out + *bias;
    return out;
  }
  static variable_list backward(AutogradContext* ctx, variable_list g) {
    const int64_t n = ctx->saved_data["n"].toInt();
    const double scale = static_cast<double>(ctx->saved_data["scale"].toInt());
    variable_list out;
    for (int64_t i = 0; i < n; ++i) out.push_back(g[0] * scale);
    out.push_back(ctx->saved_data["has_bias"].toBool() ? g[0] : Tensor());
    out.push_back(Tensor());  // scale
    return out;
  }
};

struct ReturnsTooFew : autograd::Function<ReturnsTooFew> {
  static Tensor forward(AutogradContext*, Tensor a, Tensor b) { return a + b; }
  static variable_list backward(AutogradContext*, variable_list g) { return {g[0]}; }
};

struct ReturnsWrongShape : autograd::Function<ReturnsWrongShape> {
  static Tensor forward(AutogradContext*, Tensor a) { return a.sum(); }
  static variable_list backward(AutogradContext*, variable_list g) { return {g[0]}; }  // should be a's shape
};

TEST(CustomFunction, ScaledTanhPassesGradcheck) {
  Tensor x = tensor({0.3, -1.2, 2.0, 0.05}).requires_grad_();
  auto f = [](const std::vector<Tensor>& in) { return ScaledTanh::apply(in[0], 2.5); };
  const autograd::GradcheckResult r = autograd::gradcheck(f, {x});
  EXPECT_TRUE(r.ok) << r.report;
  Tensor y = ScaledTanh::apply(x, 2.5);
  ASSERT_TRUE(y.grad_fn());
  EXPECT_NE(y.grad_fn()->name().find("ScaledTanh"), std::string::npos) << y.grad_fn()->name();
  EXPECT_TENSOR_CLOSE(y, kiln::tanh(x.detach()) * 2.5);
}

TEST(CustomFunction, SeveralOutputsAndNeedsInputGrad) {
  Tensor a = tensor({1.0, 2.0}).requires_grad_();
  Tensor b = tensor({3.0, 4.0}).requires_grad_();
  auto f0 = [](const std::vector<Tensor>& in) { return MulAdd::apply(in[0], in[1])[0]; };
  auto f1 = [](const std::vector<Tensor>& in) { return MulAdd::apply(in[0], in[1])[1]; };
  auto fboth = [](const std::vector<Tensor>& in) {
    auto o = MulAdd::apply(in[0], in[1]);
    return o[0] * o[1];
  };
  using Fn = std::function<Tensor(const std::vector<Tensor>&)>;
  for (const Fn& f : std::vector<Fn>{f0, f1, fboth}) {
    const autograd::GradcheckResult r = autograd::gradcheck(f, {a, b});
    EXPECT_TRUE(r.ok) << r.report;
  }
  // Only b needs a gradient: a's is not computed, and none is returned for it.
  Tensor c = tensor({1.0, 2.0});
  auto o = MulAdd::apply(c, b);
  mul_add_backward_calls = 0;
  (o[0] + o[1]).sum().backward();
  EXPECT_EQ(mul_add_backward_calls, 1) << "one node for both outputs";
  EXPECT_EQ(b.grad().to_vector<double>(), (std::vector<double>{2, 3}));
  // No input requires grad: no graph.
  auto plain = MulAdd::apply(c, c);
  EXPECT_FALSE(plain[0].requires_grad());
  EXPECT_FALSE(plain[1].grad_fn());
}

TEST(CustomFunction, UnreachedOutputsGetZerosOrUndefinedWithoutMaterialization) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  auto o = MulAdd::apply(x, x);
  o[1].sum().backward();  // nothing reaches o[0]: backward sees zeros there
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{2, 2}));

  Tensor y = tensor({1.0}).requires_grad_();
  second_grad_was_defined = true;
  TwoOutputsNoMaterialize::apply(y)[0].sum().backward();
  EXPECT_FALSE(second_grad_was_defined);
  EXPECT_EQ(y.grad().item<double>(), 2.0);
}

TEST(CustomFunction, MarkNonDifferentiable) {
  Tensor x = tensor({3.0, 1.0, 2.0}).requires_grad_();
  auto o = SortWithIndices::apply(x);
  EXPECT_EQ(o[0].to_vector<double>(), (std::vector<double>{1, 2, 3}));
  EXPECT_TRUE(o[0].requires_grad());
  EXPECT_FALSE(o[1].requires_grad()) << "marked non-differentiable";
  EXPECT_EQ(o[1].to_vector<double>(), (std::vector<double>{1, 2, 0}));
  (o[0] * tensor({1.0, 10.0, 100.0})).sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{100, 1, 10}));
}

TEST(CustomFunction, MarkDirtyContinuesTheInputsHistory) {
  Tensor leaf = tensor({1.0, 2.0}).requires_grad_();
  Tensor x = leaf * 3;
  Tensor y = DoubleInPlace::apply(x);
  EXPECT_TRUE(y.is_same(x)) << "the modified input is the output";
  EXPECT_EQ(x.to_vector<double>(), (std::vector<double>{6, 12}));
  y.sum().backward();
  EXPECT_EQ(leaf.grad().to_vector<double>(), (std::vector<double>{6, 6}));
  // A leaf that requires grad cannot be modified in place.
  Tensor l2 = tensor({1.0}).requires_grad_();
  EXPECT_THROW(DoubleInPlace::apply(l2), AutogradError);
}

TEST(CustomFunction, VectorOptionalAndNonTensorArguments) {
  Tensor a = tensor({1.0}).requires_grad_(), b = tensor({2.0}).requires_grad_(), bias = tensor({0.5}).requires_grad_();
  Tensor y = WeightedSum::apply(std::vector<Tensor>{a, b}, std::optional<Tensor>(bias), int64_t{3});
  EXPECT_EQ(y.item<double>(), 9.5);
  y.backward();
  EXPECT_EQ(a.grad().item<double>(), 3.0);
  EXPECT_EQ(b.grad().item<double>(), 3.0);
  EXPECT_EQ(bias.grad().item<double>(), 1.0);
  Tensor z = WeightedSum::apply(std::vector<Tensor>{a}, std::optional<Tensor>(), int64_t{2});
  z.backward();
  EXPECT_EQ(a.grad().item<double>(), 5.0);
}

TEST(CustomFunction, SavedTensorsAreCheckedAndFreed) {
  Tensor x = tensor({0.5, -0.5}).requires_grad_();
  Tensor y = ScaledTanh::apply(x, 1.0);
  y.sum().backward(Tensor(), /*retain_graph=*/true);
  y.sum().backward();  // the graph was kept
  EXPECT_THROW(y.sum().backward(), AutogradError) << "saved tensors freed by the second backward";

  Tensor y2 = ScaledTanh::apply(x, 1.0);
  {
    NoGradGuard no_grad;
    y2.add_(1.0);  // modifies the saved output
  }
  EXPECT_THROW(y2.sum().backward(), AutogradError);
}

TEST(CustomFunction, BadBackwardsAreErrorsNamingTheFunction) {
  Tensor a = ones({2}).requires_grad_(), b = ones({2}).requires_grad_();
  try {
    ReturnsTooFew::apply(a, b).sum().backward();
    FAIL() << "no error";
  } catch (const AutogradError& e) {
    EXPECT_NE(std::string(e.what()).find("ReturnsTooFew"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("returned 1 gradients"), std::string::npos) << e.what();
  }
  EXPECT_THROW(ReturnsWrongShape::apply(a).backward(), ShapeError);
}

TEST(CustomFunction, HooksOnEachOutput) {
  Tensor x = tensor({1.0}).requires_grad_();
  auto o = MulAdd::apply(x, x);
  double seen0 = 0, seen1 = 0;
  o[0].register_hook([&](const Tensor& g) {
    seen0 = g.item<double>();
    return Tensor();
  });
  o[1].register_hook([&](const Tensor& g) {
    seen1 = g.item<double>();
    return g * 10;
  });
  (o[0] * 2 + o[1] * 3).sum().backward();
  EXPECT_EQ(seen0, 2.0);
  EXPECT_EQ(seen1, 3.0);
  // d/dx: g0 * 2x + g1 * 2 with g0 = 2, g1 = 30.
  EXPECT_EQ(x.grad().item<double>(), 2 * 2 + 30 * 2);
  Tensor z = tensor({1.0}).requires_grad_();
  auto p = MulAdd::apply(z, z);
  p[1].retain_grad();
  (p[0] + p[1] * 4).sum().backward();
  EXPECT_EQ(p[1].grad().item<double>(), 4.0);
}

TEST(CustomFunction, RunsOnCuda) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  Tensor x = tensor({0.3, -1.2, 2.0}).to(kCUDA).requires_grad_();
  auto f = [](const std::vector<Tensor>& in) { return ScaledTanh::apply(in[0], 1.5); };
  const autograd::GradcheckResult r = autograd::gradcheck(f, {x});
  EXPECT_TRUE(r.ok) << r.report;
  Tensor a = tensor({1.0, 2.0}).to(kCUDA).requires_grad_(), b = tensor({3.0, 4.0}).to(kCUDA).requires_grad_();
  auto o = MulAdd::apply(a, b);
  (o[0] + o[1]).sum().backward();
  EXPECT_TRUE(a.grad().is_cuda());
  EXPECT_EQ(a.grad().cpu().to_vector<double>(), (std::vector<double>{4, 5}));
}

TEST(AutogradGradParity, OutputsInputsGradOutputsRetainAllowUnused) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor w = tensor({3.0, 4.0}).requires_grad_();
  Tensor unused = tensor({0.0}).requires_grad_();
  Tensor y = x * w;
  auto g = autograd::grad({y}, {x, w}, {tensor({1.0, 10.0})}, /*retain_graph=*/true);
  EXPECT_EQ(g[0].to_vector<double>(), (std::vector<double>{3, 40}));
  EXPECT_EQ(g[1].to_vector<double>(), (std::vector<double>{1, 20}));
  EXPECT_FALSE(x.grad().defined()) << "grad() does not accumulate into .grad()";
  auto g2 = autograd::grad({y.sum()}, {unused, x}, {}, /*retain_graph=*/true, /*create_graph=*/false,
                           /*allow_unused=*/true);
  EXPECT_FALSE(g2[0].defined());
  EXPECT_EQ(g2[1].to_vector<double>(), (std::vector<double>{3, 4}));
  EXPECT_THROW(autograd::grad({y.sum()}, {unused}, {}, true), AutogradError);
  EXPECT_THROW(autograd::grad({y.sum()}, {x}, {}, true, /*create_graph=*/true), AutogradError)
      << "higher-order gradients are not supported";
  // retain_graph defaults to create_graph (false): the graph is freed.
  autograd::grad({y.sum()}, {x});
  EXPECT_THROW(autograd::grad({y.sum()}, {x}), AutogradError);
  // Several outputs of one custom node, each asked for separately.
  Tensor a = tensor({2.0}).requires_grad_();
  auto o = MulAdd::apply(a, a);
  auto ga = autograd::grad({o[1]}, {a}, {}, true);
  EXPECT_EQ(ga[0].item<double>(), 2.0);
  // An intermediate tensor as input: the gradient flowing into it.
  Tensor mid = x * 2;
  auto gm = autograd::grad({(mid * mid).sum()}, {mid});
  EXPECT_EQ(gm[0].to_vector<double>(), (std::vector<double>{4, 8}));
}

TEST(AutogradBackward, FreeFunctionWithGradTensors) {
  Tensor x = tensor({1.0, 2.0}).requires_grad_();
  Tensor y1 = x * 2, y2 = x * x;
  autograd::backward({y1, y2}, {tensor({1.0, 1.0}), tensor({0.5, 0.5})});
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{3, 4}));
  EXPECT_THROW(autograd::backward({(x * 2).sum()}, {}, std::nullopt, /*create_graph=*/true), AutogradError);
  EXPECT_THROW(autograd::backward({x * 2}, {ones({2}), ones({2})}), ValueError);
}

TEST(GradModes, AutoGradModeAndEnableGrad) {
  Tensor x = ones({2}).requires_grad_();
  {
    AutoGradMode off(false);
    EXPECT_FALSE(GradMode::is_enabled());
    EXPECT_FALSE((x * 2).requires_grad());
    {
      enable_grad on;
      EXPECT_TRUE((x * 2).requires_grad());
      autograd::AutoGradMode nested(false);  // LibTorch's torch::autograd:: spelling
      EXPECT_FALSE((x * 2).requires_grad());
    }
    EXPECT_FALSE(GradMode::is_enabled());
  }
  EXPECT_TRUE(GradMode::is_enabled());
  {
    NoGradGuard no_grad;
    // forward of a custom function records nothing under no_grad.
    EXPECT_FALSE(ScaledTanh::apply(x, 1.0).requires_grad());
  }
}

TEST(IValue, KindsAndMismatchErrors) {
  IValue none;
  EXPECT_TRUE(none.isNone());
  IValue d = 2.5, i = 3, b = true, s = "name", t = ones({2});
  EXPECT_EQ(d.toDouble(), 2.5);
  EXPECT_EQ(i.toInt(), 3);
  EXPECT_TRUE(b.toBool());
  EXPECT_EQ(s.toStringRef(), "name");
  EXPECT_EQ(t.toTensor().numel(), 2);
  EXPECT_EQ(IValue(std::vector<int64_t>{1, 2}).toIntVector().size(), 2u);
  EXPECT_EQ(IValue(Scalar(1.5)).toScalar().toDouble(), 1.5);
  EXPECT_TRUE(IValue(Scalar(int64_t{4})).isInt());
  try {
    i.toDouble();
    FAIL();
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("Int"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace kiln

namespace kiln {
namespace {

// The engine sums the gradients of a tensor used twice in place when only
// its buffer holds the first one. A gradient that a backward also keeps
// elsewhere (here: a global) must stay as it was.
Tensor kept_gradient;
struct KeepsItsGradient : autograd::Function<KeepsItsGradient> {
  static Tensor forward(AutogradContext*, Tensor x) { return x * 1.0; }
  static variable_list backward(AutogradContext*, variable_list g) {
    kept_gradient = g[0] * 2.0;
    return {kept_gradient};
  }
};

}  // namespace

TEST(CustomFunction, SummingTwoGradientsLeavesOneThatIsHeldElsewhereUnchanged) {
  for (bool function_first : {true, false}) {  // either gradient may arrive first
    Tensor x = tensor(std::vector<double>{1, 2, 3}).requires_grad_(true);
    Tensor y = x * 1.0;  // used twice: through the function and directly
    Tensor out = function_first ? (KeepsItsGradient::apply(y) * 3.0 + y * 5.0).sum()
                                : (y * 5.0 + KeepsItsGradient::apply(y) * 3.0).sum();
    out.backward();
    EXPECT_TENSOR_CLOSE(kept_gradient, full({3}, 6.0)) << function_first;  // 3 * 2, not 6 + 5
    EXPECT_TENSOR_CLOSE(x.grad(), full({3}, 11.0)) << function_first;
  }
  // Twice through one op (both inputs of an add get the same gradient).
  Tensor z = tensor(std::vector<double>{1, 2}).requires_grad_(true);
  Tensor w = z * 2.0;
  (w + w).sum().backward();
  EXPECT_TENSOR_CLOSE(z.grad(), full({2}, 4.0));
}

}  // namespace kiln
