// Autocast: which dtype each op runs in inside bf16 and f16 regions and
// outside them (one table, on the CPU and, where there is one, on a GPU),
// the guard's nesting and thread-locality, the parameter cast cache, and
// the gradients that reach f32 parameters.
#include <gtest/gtest.h>

#include <functional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <kiln/kiln.h>

#include "autograd/node.h"
#include "ops/autocast.h"
#include "support/tensor_assert.h"

namespace {

using namespace kiln;
namespace F = kiln::nn::functional;
using amp::AutocastGuard;

// A random tensor on `device` in `dtype` (drawn in f32 on the CPU, so every
// device and dtype sees the same values).
Tensor rnd(const Shape& shape, const Device& device, DType dtype) { return randn(shape).to(device).to(dtype); }

// One op of the table: its inputs are made in `in` (f32 for the ops autocast
// lowers, bf16 for those it raises to f32, so that the cast shows); the
// dtype of its result outside a region, inside a bf16 and inside an f16 one.
struct Row {
  std::string name;
  DType in;
  DType outside, bf16, f16;
  std::function<Tensor(const Device&, DType)> fn;
};

std::vector<Row> rows() {
  const DType f32 = kFloat32, bf = kBFloat16, h = kFloat16;
  std::vector<Row> r;
  auto low = [&](std::string name, std::function<Tensor(const Device&, DType)> fn) {
    r.push_back({std::move(name), f32, f32, bf, h, std::move(fn)});
  };
  auto wide = [&](std::string name, std::function<Tensor(const Device&, DType)> fn) {
    r.push_back({std::move(name), bf, bf, f32, f32, std::move(fn)});
  };
  auto same = [&](std::string name, std::function<Tensor(const Device&, DType)> fn) {
    r.push_back({name + "/f32", f32, f32, f32, f32, fn});
    r.push_back({name + "/bf16", bf, bf, bf, bf, fn});
  };
  // --- low dtype ---
  low("matmul", [](const Device& d, DType t) { return matmul(rnd({4, 8}, d, t), rnd({8, 3}, d, t)); });
  low("matmul_batched", [](const Device& d, DType t) { return matmul(rnd({2, 4, 8}, d, t), rnd({8, 3}, d, t)); });
  low("mm", [](const Device& d, DType t) { return mm(rnd({4, 8}, d, t), rnd({8, 3}, d, t)); });
  low("bmm", [](const Device& d, DType t) { return bmm(rnd({2, 4, 8}, d, t), rnd({2, 8, 3}, d, t)); });
  low("Tensor::matmul", [](const Device& d, DType t) { return rnd({4, 8}, d, t).matmul(rnd({8, 3}, d, t)); });
  low("linear", [](const Device& d, DType t) { return linear(rnd({4, 8}, d, t), rnd({3, 8}, d, t), rnd({3}, d, t)); });
  low("linear_no_bias", [](const Device& d, DType t) { return linear(rnd({2, 4, 8}, d, t), rnd({3, 8}, d, t)); });
  low("conv2d", [](const Device& d, DType t) {
    return conv2d(rnd({2, 3, 6, 6}, d, t), rnd({4, 3, 3, 3}, d, t), rnd({4}, d, t), 1, 1);
  });
  low("conv1d", [](const Device& d, DType t) {
    return F::conv1d(rnd({2, 3, 9}, d, t), rnd({4, 3, 3}, d, t), F::Conv1dFuncOptions().bias(rnd({4}, d, t)));
  });
  low("conv_transpose2d", [](const Device& d, DType t) {
    return conv_transpose2d(rnd({2, 4, 5, 5}, d, t), rnd({4, 3, 3, 3}, d, t), rnd({3}, d, t), 2);
  });
  low("scaled_dot_product_attention", [](const Device& d, DType t) {
    return scaled_dot_product_attention(rnd({2, 2, 5, 8}, d, t), rnd({2, 2, 5, 8}, d, t), rnd({2, 2, 5, 8}, d, t),
                                        Tensor(), 0.0, true);
  });
  low("scaled_dot_product_attention_float_mask", [](const Device& d, DType t) {
    return scaled_dot_product_attention(rnd({1, 2, 5, 8}, d, t), rnd({1, 2, 6, 8}, d, t), rnd({1, 2, 6, 8}, d, t),
                                        rnd({5, 6}, d, kFloat32));
  });
  // --- float32 ---
  wide("softmax", [](const Device& d, DType t) { return softmax(rnd({4, 7}, d, t), -1); });
  wide("log_softmax", [](const Device& d, DType t) { return log_softmax(rnd({4, 7}, d, t), 1); });
  wide("Tensor::softmax", [](const Device& d, DType t) { return rnd({4, 7}, d, t).softmax(0); });
  wide("layer_norm", [](const Device& d, DType t) {
    return layer_norm(rnd({3, 8}, d, t), {8}, rnd({8}, d, t), rnd({8}, d, t));
  });
  wide("rms_norm", [](const Device& d, DType t) { return rms_norm(rnd({3, 8}, d, t), {8}, rnd({8}, d, t)); });
  wide("batch_norm", [](const Device& d, DType t) {
    return batch_norm(rnd({4, 3, 2, 2}, d, t), rnd({3}, d, t), rnd({3}, d, t), Tensor(), Tensor(), true);
  });
  wide("group_norm", [](const Device& d, DType t) {
    return group_norm(rnd({2, 4, 3}, d, t), 2, rnd({4}, d, t), rnd({4}, d, t));
  });
  wide("cross_entropy", [](const Device& d, DType t) {
    return cross_entropy(rnd({4, 5}, d, t), tensor({0, 4, 2, 1}).to(d));
  });
  wide("nll_loss", [](const Device& d, DType t) { return nll_loss(rnd({4, 5}, d, t), tensor({0, 4, 2, 1}).to(d)); });
  wide("mse_loss", [](const Device& d, DType t) { return mse_loss(rnd({4, 5}, d, t), rnd({4, 5}, d, t)); });
  wide("binary_cross_entropy_with_logits", [](const Device& d, DType t) {
    return binary_cross_entropy_with_logits(rnd({4, 5}, d, t), rnd({4, 5}, d, t).sigmoid(), rnd({5}, d, t));
  });
  wide("sum", [](const Device& d, DType t) { return sum(rnd({4, 5}, d, t)); });
  wide("sum_dim", [](const Device& d, DType t) { return rnd({4, 5}, d, t).sum(1); });
  wide("mean", [](const Device& d, DType t) { return mean(rnd({4, 5}, d, t), {0}); });
  wide("norm", [](const Device& d, DType t) { return norm(rnd({4, 5}, d, t)); });
  wide("var", [](const Device& d, DType t) { return var(rnd({4, 5}, d, t), {1}); });
  wide("std", [](const Device& d, DType t) { return kiln::std(rnd({4, 5}, d, t)); });
  wide("logsumexp", [](const Device& d, DType t) { return logsumexp(rnd({4, 5}, d, t), {1}); });
  wide("cumsum", [](const Device& d, DType t) { return cumsum(rnd({4, 5}, d, t), 1); });
  // --- unchanged: the inputs' dtype inside and out ---
  same("relu", [](const Device& d, DType t) { return relu(rnd({4, 5}, d, t)); });
  same("gelu", [](const Device& d, DType t) { return gelu(rnd({4, 5}, d, t), "tanh"); });
  same("add", [](const Device& d, DType t) { return rnd({4, 5}, d, t) + rnd({5}, d, t); });
  same("exp", [](const Device& d, DType t) { return exp(rnd({4, 5}, d, t)); });
  same("amax", [](const Device& d, DType t) { return amax(rnd({4, 5}, d, t), {1}); });
  same("embedding", [](const Device& d, DType t) { return embedding(rnd({6, 4}, d, t), tensor({1, 5, 0}).to(d)); });
  same("max_pool2d", [](const Device& d, DType t) { return max_pool2d(rnd({1, 2, 4, 4}, d, t), 2); });
  // Not divisible: computed with two internal matmuls, which keep the dtype.
  same("adaptive_avg_pool2d", [](const Device& d, DType t) { return adaptive_avg_pool2d(rnd({1, 2, 5, 7}, d, t), 3); });
  same("dropout", [](const Device& d, DType t) { return dropout(rnd({4, 5}, d, t), 0.5, true); });
  return r;
}

void check_table(const Device& device) {
  for (const Row& row : rows()) {
    SCOPED_TRACE(row.name + " on " + device.str());
    EXPECT_EQ(row.fn(device, row.in).dtype(), row.outside) << "outside autocast";
    {
      AutocastGuard autocast(device.type(), kBFloat16);
      EXPECT_EQ(row.fn(device, row.in).dtype(), row.bf16) << "inside bf16 autocast";
    }
    {
      AutocastGuard autocast(device.type(), kFloat16);
      EXPECT_EQ(row.fn(device, row.in).dtype(), row.f16) << "inside f16 autocast";
    }
    EXPECT_EQ(row.fn(device, row.in).dtype(), row.outside) << "after autocast";
  }
}

TEST(AutocastDtypeRules, TableOnCpu) { check_table(Device(kCPU)); }

TEST(AutocastDtypeRules, TableOnCuda) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  check_table(Device(kCUDA, 0));
}

TEST(AutocastDtypeRules, Float64InputsAreNotLowered) {
  AutocastGuard autocast(kCPU, kBFloat16);
  EXPECT_EQ(matmul(randn({3, 4}, kFloat64), randn({4, 2}, kFloat64)).dtype(), kFloat64);
  EXPECT_EQ(softmax(randn({3, 4}, kFloat64), 1).dtype(), kFloat64);
}

TEST(AutocastDtypeRules, MixedInputsOfALoweredOpMeet) {
  // bmm refuses bf16 with f32 outside autocast; inside, both become bf16.
  Tensor a = randn({2, 3, 4}).to(kBFloat16), b = randn({2, 4, 5});
  EXPECT_THROW(bmm(a, b), DTypeError);
  AutocastGuard autocast(kCPU, kBFloat16);
  EXPECT_EQ(bmm(a, b).dtype(), kBFloat16);
  AutocastGuard f16(kCPU, kFloat16);
  EXPECT_EQ(bmm(a, b).dtype(), kFloat16);  // bf16 inputs are cast to f16 too
}

TEST(AutocastDtypeRules, LoweredValuesMatchTheF32Result) {
  manual_seed(3);
  Tensor x = randn({16, 32}), w = randn({24, 32}), b = randn({24});
  Tensor ref = linear(x, w, b);
  AutocastGuard autocast(kCPU, kBFloat16);
  Tensor y = linear(x, w, b);
  ASSERT_EQ(y.dtype(), kBFloat16);
  // bf16 keeps 8 significant bits: inputs and result rounded, f32 accumulation.
  EXPECT_TENSOR_CLOSE(y.to(kFloat32), ref, 3e-2, 0.15);
}

// --- the guard ----------------------------------------------------------------

TEST(AutocastGuard, DeviceGenericGuardCoversCudaAndLeavesTheCpuInF32) {
  EXPECT_FALSE(amp::is_autocast_enabled(kCUDA));
  EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
  {
    AutocastGuard autocast(kBFloat16);
    EXPECT_TRUE(amp::is_autocast_enabled(kCUDA));
    EXPECT_EQ(amp::get_autocast_dtype(kCUDA), kBFloat16);
    EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
    EXPECT_EQ(matmul(randn({4, 8}), randn({8, 3})).dtype(), kFloat32);
  }
  EXPECT_FALSE(amp::is_autocast_enabled(kCUDA));
}

TEST(AutocastGuard, DeviceGenericGuardRunsCudaMatmulsInTheLowDtype) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  const Device gpu(kCUDA, 0);
  AutocastGuard autocast(kFloat16);
  EXPECT_EQ(matmul(randn({4, 8}).to(gpu), randn({8, 3}).to(gpu)).dtype(), kFloat16);
  EXPECT_EQ(softmax(randn({4, 8}).to(gpu).to(kFloat16), 1).dtype(), kFloat32);
  EXPECT_EQ(matmul(randn({4, 8}), randn({8, 3})).dtype(), kFloat32);  // the CPU is not touched
}

TEST(AutocastGuard, NestedGuardsRestoreTheEnclosingSetting) {
  auto product_dtype = [] { return matmul(randn({2, 3}), randn({3, 2})).dtype(); };
  {
    AutocastGuard outer(kCPU, kBFloat16);
    EXPECT_EQ(product_dtype(), kBFloat16);
    {
      AutocastGuard inner(kCPU, kFloat16);
      EXPECT_EQ(product_dtype(), kFloat16);
      {
        AutocastGuard off(kCPU, kFloat16, /*enabled=*/false);
        EXPECT_EQ(product_dtype(), kFloat32);
        EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
      }
      EXPECT_EQ(product_dtype(), kFloat16);
    }
    EXPECT_EQ(product_dtype(), kBFloat16);
    {
      // The device-generic guard leaves an enclosing CPU setting alone ...
      AutocastGuard generic(kFloat16);
      EXPECT_EQ(product_dtype(), kBFloat16);
    }
    {
      // ... and its "off" form turns both device types off.
      AutocastGuard generic_off(kFloat16, /*enabled=*/false);
      EXPECT_EQ(product_dtype(), kFloat32);
      EXPECT_FALSE(amp::is_autocast_enabled(kCUDA));
    }
    EXPECT_EQ(product_dtype(), kBFloat16);
  }
  EXPECT_EQ(product_dtype(), kFloat32);
  EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
}

TEST(AutocastGuard, StateIsPerThread) {
  AutocastGuard autocast(kCPU, kBFloat16);
  DType other_thread = kBool;
  bool other_enabled = true;
  std::thread t([&] {
    other_enabled = amp::is_autocast_enabled(kCPU);
    other_thread = matmul(randn({2, 3}), randn({3, 2})).dtype();
  });
  t.join();
  EXPECT_FALSE(other_enabled);
  EXPECT_EQ(other_thread, kFloat32);
  EXPECT_EQ(matmul(randn({2, 3}), randn({3, 2})).dtype(), kBFloat16);
}

TEST(AutocastGuard, RefusesADtypeThatIsNotLowPrecision) {
  try {
    AutocastGuard autocast(kCPU, kFloat32);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("bfloat16 or float16, got float32"), std::string::npos) << e.what();
  }
  EXPECT_THROW(AutocastGuard g(kFloat64), ValueError);
  EXPECT_FALSE(amp::is_autocast_enabled(kCPU));
  EXPECT_FALSE(amp::is_autocast_enabled(kCUDA));
  EXPECT_EQ(detail::autocast_state(kCPU).enabled, false);
}

// --- the cast cache ------------------------------------------------------------

// The ToDtypeBackward nodes (casts) reachable from t's history.
std::set<const autograd::Node*> casts_in_graph(const Tensor& t) {
  std::set<const autograd::Node*> seen, casts;
  std::vector<const autograd::Node*> stack{t.grad_fn().get()};
  while (!stack.empty()) {
    const autograd::Node* n = stack.back();
    stack.pop_back();
    if (n == nullptr || !seen.insert(n).second) continue;
    if (n->name() == "ToDtypeBackward") casts.insert(n);
    for (const auto& e : n->next_edges()) stack.push_back(e.fn.get());
  }
  return casts;
}

TEST(AutocastCache, AParameterUsedTwiceIsCastOnce) {
  Tensor w = randn({5, 8}).requires_grad_();
  Tensor x1 = randn({3, 8}), x2 = randn({4, 8});  // inputs: no grad, cast each time, not cached
  {
    AutocastGuard autocast(kCPU, kBFloat16);
    Tensor y1 = linear(x1, w), y2 = linear(x2, w);
    EXPECT_EQ(detail::autocast_cache_size(), 1u);
    const auto c1 = casts_in_graph(y1), c2 = casts_in_graph(y2);
    ASSERT_EQ(c1.size(), 1u);  // w's cast (x1 has no history to record)
    EXPECT_EQ(c1, c2) << "the second use cast the parameter again";
    Tensor y3 = matmul(x1, w.t());  // a view of w is not a leaf: cast, not cached
    EXPECT_EQ(detail::autocast_cache_size(), 1u);
    EXPECT_EQ(y3.dtype(), kBFloat16);
  }
  EXPECT_EQ(detail::autocast_cache_size(), 0u) << "the cache outlived the guard";
}

TEST(AutocastCache, ClearedOnlyWhenTheOutermostGuardExits) {
  Tensor w = randn({5, 8}).requires_grad_();
  {
    AutocastGuard outer(kCPU, kBFloat16);
    {
      AutocastGuard inner(kCPU, kBFloat16);
      linear(randn({2, 8}), w);
      EXPECT_EQ(detail::autocast_cache_size(), 1u);
    }
    EXPECT_EQ(detail::autocast_cache_size(), 1u);
    {
      AutocastGuard f16(kCPU, kFloat16);
      linear(randn({2, 8}), w);  // a second dtype: a second entry
      EXPECT_EQ(detail::autocast_cache_size(), 2u);
    }
    amp::clear_autocast_cache();
    EXPECT_EQ(detail::autocast_cache_size(), 0u);
    linear(randn({2, 8}), w);
    EXPECT_EQ(detail::autocast_cache_size(), 1u);
  }
  EXPECT_EQ(detail::autocast_cache_size(), 0u);
}

TEST(AutocastCache, AnInPlaceWriteToTheParameterIsSeen) {
  Tensor w = randn({5, 8}).requires_grad_();
  Tensor x = randn({3, 8});
  AutocastGuard autocast(kCPU, kBFloat16);
  linear(x, w);
  {
    NoGradGuard no_grad;
    w.add_(10.0);  // as an optimizer step inside a long-lived guard would
  }
  Tensor y = linear(x, w);
  Tensor ref;
  {
    AutocastGuard off(kCPU, kBFloat16, false);
    ref = linear(x, w.detach());
  }
  EXPECT_TENSOR_CLOSE(y.to(kFloat32), ref, 3e-2, 0.5);
  EXPECT_EQ(detail::autocast_cache_size(), 1u);
}

TEST(AutocastCache, ACastMadeWithoutGradDoesNotServeATrainingStep) {
  Tensor w = randn({5, 8}).requires_grad_();
  Tensor x = randn({3, 8});
  AutocastGuard autocast(kCPU, kBFloat16);
  {
    NoGradGuard no_grad;
    EXPECT_EQ(linear(x, w).grad_fn(), nullptr);
  }
  Tensor y = linear(x, w);
  ASSERT_NE(y.grad_fn(), nullptr);
  y.sum().backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().dtype(), kFloat32);
  // And a cast with history does serve a later no-grad use.
  NoGradGuard no_grad;
  linear(x, w);
  EXPECT_EQ(detail::autocast_cache_size(), 1u);
}

TEST(AutocastCache, ADroppedParameterIsNotKeptAliveNorMistakenForANewOne) {
  AutocastGuard autocast(kCPU, kBFloat16);
  std::weak_ptr<detail::TensorImpl> gone;
  {
    Tensor w = randn({5, 8}).requires_grad_();
    linear(randn({2, 8}), w).sum().backward();
    gone = w.impl_ptr();
  }
  // The cast's history holds the leaf (as PyTorch's does) until the cache
  // lets go of it; the entry must not answer for another tensor.
  Tensor w2 = randn({5, 8}).requires_grad_();
  Tensor y = linear(randn({2, 8}), w2);
  y.sum().backward();
  ASSERT_TRUE(w2.grad().defined());
  amp::clear_autocast_cache();
  EXPECT_TRUE(gone.expired());
}

// --- gradients -----------------------------------------------------------------

TEST(AutocastGradients, ReachTheF32ParametersInF32) {
  manual_seed(7);
  Tensor x = randn({8, 16}), target = randint(0, 4, {8});
  Tensor w1 = (randn({32, 16}) * 0.3).requires_grad_(), b1 = zeros({32}).requires_grad_();
  Tensor w2 = (randn({4, 32}) * 0.3).requires_grad_();
  Tensor gamma = ones({32}).requires_grad_(), beta = zeros({32}).requires_grad_();
  auto loss_of = [&] {
    Tensor h = gelu(layer_norm(linear(x, w1, b1), {32}, gamma, beta));
    Tensor logits = linear(h, w2);
    // w2 a second time (tied, as a GPT's LM head): one cast, two gradient paths.
    Tensor again = matmul(logits, w2);
    return cross_entropy(logits, target) + 1e-3 * again.square().mean();
  };
  Tensor ref = loss_of();
  ref.backward();
  std::vector<Tensor> params{w1, b1, w2, gamma, beta}, ref_grads;
  for (Tensor& p : params) {
    ref_grads.push_back(p.grad().clone());
    p.set_grad(Tensor());
  }
  Tensor loss;
  {
    AutocastGuard autocast(kCPU, kBFloat16);
    loss = loss_of();
    EXPECT_EQ(loss.dtype(), kFloat32);
    loss.backward();  // inside the guard, as RAII code will often do
  }
  EXPECT_NEAR(loss.item<double>(), ref.item<double>(), 2e-2 * std::abs(ref.item<double>()) + 1e-2);
  for (size_t i = 0; i < params.size(); ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    ASSERT_TRUE(params[i].grad().defined());
    EXPECT_EQ(params[i].grad().dtype(), kFloat32);
    EXPECT_EQ(params[i].dtype(), kFloat32);
    const double scale = ref_grads[i].abs().max().item<double>();
    EXPECT_TENSOR_CLOSE(params[i].grad(), ref_grads[i], 0.0, 0.05 * scale + 1e-4);
  }
}

// A function whose backward records the dtype of a matmul of two f32
// tensors: backward formulas must not be autocast.
struct MatmulInBackward : autograd::Function<MatmulInBackward> {
  static DType seen;
  static Tensor forward(autograd::AutogradContext*, Tensor x) { return x * 2.0; }
  static autograd::variable_list backward(autograd::AutogradContext*, autograd::variable_list g) {
    seen = matmul(randn({2, 3}), randn({3, 2})).dtype();
    return {g[0] * 2.0};
  }
};
DType MatmulInBackward::seen = kBool;

TEST(AutocastGradients, BackwardFormulasAreNotAutocast) {
  Tensor x = randn({4}).requires_grad_();
  AutocastGuard autocast(kCPU, kBFloat16);
  MatmulInBackward::apply(x).sum().backward();
  EXPECT_EQ(MatmulInBackward::seen, kFloat32);
  EXPECT_TRUE(amp::is_autocast_enabled(kCPU)) << "backward() left autocast off";
  EXPECT_EQ(matmul(randn({2, 3}), randn({3, 2})).dtype(), kBFloat16);
}

TEST(AutocastGradients, ActivationGradientsKeepTheirForwardDtype) {
  Tensor w = randn({6, 4}).requires_grad_(), b = randn({6}).requires_grad_();
  AutocastGuard autocast(kCPU, kBFloat16);
  Tensor y = linear(randn({3, 4}), w, b);
  DType grad_dtype = kBool;
  y.register_hook([&](const Tensor& g) { grad_dtype = g.dtype(); });
  softmax(y, 1).sum().backward();
  EXPECT_EQ(grad_dtype, kBFloat16);
  EXPECT_EQ(b.grad().dtype(), kFloat32);
}

TEST(AutocastGradients, TrainingInBf16OnTheCpuLowersTheLoss) {
  manual_seed(11);
  Tensor x = randn({64, 8});
  Tensor true_w = randn({3, 8});
  Tensor target = argmax(linear(x, true_w), 1);
  Tensor w = zeros({3, 8}).requires_grad_(), b = zeros({3}).requires_grad_();
  optim::SGD opt({w, b}, optim::SGDOptions(0.5));
  double first = 0, last = 0;
  AutocastGuard autocast(kCPU, kBFloat16);  // one guard around the loop: the cache sees every step
  for (int step = 0; step < 30; ++step) {
    opt.zero_grad();
    Tensor loss = cross_entropy(linear(x, w, b), target);
    loss.backward();
    opt.step();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_LT(last, 0.5 * first);
  EXPECT_EQ(w.dtype(), kFloat32);
}

}  // namespace
