// GradScaler: PyTorch's defaults, steps skipped on inf/nan gradients with
// the scale backing off, growth after growth_interval clean steps, the
// once-per-step rules of unscale_/step, f16 training through autocast, and
// the state through a checkpoint with every restored value checked.
#include <gtest/gtest.h>

#include <cmath>
#include <filesystem>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include <unistd.h>

#include <kiln/kiln.h>

#include "support/tensor_assert.h"

namespace {

using namespace kiln;
using amp::GradScaler;
using amp::GradScalerOptions;

const double kInf = std::numeric_limits<double>::infinity();

// A parameter with a given gradient (as backward of a scaled loss leaves it).
Tensor param_with_grad(const Tensor& value, const Tensor& grad) {
  Tensor p = value.clone().requires_grad_();
  p.set_grad(grad.clone());
  return p;
}

TEST(GradScaler, HasPyTorchsDefaults) {
  GradScaler s;
  EXPECT_EQ(s.get_scale(), 65536.0);
  EXPECT_EQ(s.get_growth_factor(), 2.0);
  EXPECT_EQ(s.get_backoff_factor(), 0.5);
  EXPECT_EQ(s.get_growth_interval(), 2000);
  EXPECT_EQ(s.growth_tracker(), 0);
  EXPECT_EQ(s.skipped_steps(), 0);
  EXPECT_TRUE(s.is_enabled());
}

TEST(GradScaler, RefusesBadOptions) {
  EXPECT_THROW(GradScaler(GradScalerOptions().init_scale(0)), ValueError);
  EXPECT_THROW(GradScaler(GradScalerOptions().init_scale(kInf)), ValueError);
  EXPECT_THROW(GradScaler(GradScalerOptions().growth_factor(1.0)), ValueError);
  EXPECT_THROW(GradScaler(GradScalerOptions().backoff_factor(1.0)), ValueError);
  EXPECT_THROW(GradScaler(GradScalerOptions().backoff_factor(0.0)), ValueError);
  EXPECT_THROW(GradScaler(GradScalerOptions().growth_interval(0)), ValueError);
}

TEST(GradScaler, ScalesTheLossAndAnF16LossInF32) {
  GradScaler s;
  Tensor loss = tensor({1.5f});
  EXPECT_EQ(s.scale(loss).item<double>(), 1.5 * 65536);
  // 1.5 * 2^16 does not fit in f16 (max 65504).
  Tensor scaled = s.scale(tensor({1.5f}).to(kFloat16));
  EXPECT_EQ(scaled.dtype(), kFloat32);
  EXPECT_EQ(scaled.item<double>(), 1.5 * 65536);
  EXPECT_THROW(s.scale(tensor({1, 2})), DTypeError);
}

TEST(GradScaler, AStepWithFiniteGradientsRunsOnTheUnscaledGradients) {
  GradScaler s(GradScalerOptions().init_scale(1024));
  Tensor p = param_with_grad(tensor({1.f, 2.f}), tensor({512.f, -1024.f}));  // 0.5, -1 unscaled
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  EXPECT_TRUE(s.step(opt));
  EXPECT_TENSOR_CLOSE(p.detach(), tensor({0.95f, 2.1f}));
  EXPECT_TENSOR_CLOSE(p.grad(), tensor({0.5f, -1.f}));
  s.update();
  EXPECT_EQ(s.get_scale(), 1024.0);
  EXPECT_EQ(s.growth_tracker(), 1);
  EXPECT_EQ(s.skipped_steps(), 0);
}

TEST(GradScaler, InjectedInfSkipsTheStepHalvesTheScaleAndCounts) {
  for (double bad : {kInf, -kInf, std::nan("")}) {
    SCOPED_TRACE(bad);
    GradScaler s;
    Tensor good = param_with_grad(tensor({1.f, 2.f}), tensor({1.f, 1.f}));
    Tensor poisoned = param_with_grad(tensor({3.f}), tensor({static_cast<float>(bad)}));
    optim::SGD opt({good, poisoned}, optim::SGDOptions(0.1));
    EXPECT_FALSE(s.step(opt));
    EXPECT_TENSOR_CLOSE(good.detach(), tensor({1.f, 2.f}));  // nothing moved
    EXPECT_TENSOR_CLOSE(poisoned.detach(), tensor({3.f}));
    EXPECT_EQ(s.skipped_steps(), 1);
    s.update();
    EXPECT_EQ(s.get_scale(), 32768.0);
    EXPECT_EQ(s.growth_tracker(), 0);
  }
}

TEST(GradScaler, GrowsAfterGrowthIntervalCleanStepsInARow) {
  GradScaler s;  // the default interval, 2000
  Tensor p = param_with_grad(tensor({0.f}), tensor({kInf}).to(kFloat32));
  optim::SGD opt({p}, optim::SGDOptions(1e-6));
  s.step(opt);
  s.update();
  ASSERT_EQ(s.get_scale(), 32768.0);
  for (int i = 1; i <= 2000; ++i) {
    p.set_grad(tensor({1.f}));
    ASSERT_TRUE(s.step(opt));
    s.update();
    if (i < 2000) {
      ASSERT_EQ(s.get_scale(), 32768.0) << "grew after " << i << " clean steps";
      ASSERT_EQ(s.growth_tracker(), i);
    }
  }
  EXPECT_EQ(s.get_scale(), 65536.0);
  EXPECT_EQ(s.growth_tracker(), 0);
  EXPECT_EQ(s.skipped_steps(), 1);
}

TEST(GradScaler, AnOverflowRestartsTheGrowthCount) {
  GradScaler s(GradScalerOptions().init_scale(8).growth_interval(3));
  Tensor p = param_with_grad(tensor({0.f}), tensor({1.f}));
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  auto iteration = [&](float g) {
    p.set_grad(tensor({g}));
    s.step(opt);
    s.update();
  };
  iteration(1);
  iteration(1);
  EXPECT_EQ(s.growth_tracker(), 2);
  iteration(static_cast<float>(kInf));
  EXPECT_EQ(s.get_scale(), 4.0);
  EXPECT_EQ(s.growth_tracker(), 0);
  iteration(1);
  iteration(1);
  EXPECT_EQ(s.get_scale(), 4.0);
  iteration(1);
  EXPECT_EQ(s.get_scale(), 8.0);
}

TEST(GradScaler, DoesNotGrowBeyondFloat32) {
  GradScaler s(GradScalerOptions().init_scale(std::ldexp(1.0, 127)).growth_interval(1));
  Tensor p = param_with_grad(tensor({0.f}), tensor({1.f}));
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  s.step(opt);
  s.update();
  EXPECT_EQ(s.get_scale(), std::ldexp(1.0, 127));  // 2^128 overflows f32
}

TEST(GradScaler, UnscaleTwiceIsRefused) {
  GradScaler s(GradScalerOptions().init_scale(4));
  Tensor p = param_with_grad(tensor({0.f}), tensor({8.f}));
  optim::SGD opt({p}, optim::SGDOptions(1.0));
  s.unscale_(opt);
  EXPECT_TENSOR_CLOSE(p.grad(), tensor({2.f}));
  try {
    s.unscale_(opt);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("already called"), std::string::npos) << e.what();
  }
  EXPECT_TENSOR_CLOSE(p.grad(), tensor({2.f})) << "the refused call divided the gradients";
  // step() after unscale_ does not unscale again (clipping sits between them).
  EXPECT_TRUE(s.step(opt));
  EXPECT_TENSOR_CLOSE(p.detach(), tensor({-2.f}));
  EXPECT_THROW(s.unscale_(opt), ValueError);  // after step, before update
  EXPECT_THROW(s.step(opt), ValueError);      // a second step
  s.update();
  p.set_grad(tensor({8.f}));
  s.unscale_(opt);  // a new iteration
  EXPECT_TENSOR_CLOSE(p.grad(), tensor({2.f}));
}

TEST(GradScaler, UnscaleBeforeClippingClipsTheTrueGradients) {
  GradScaler s;
  Tensor p = param_with_grad(tensor({0.f, 0.f}), tensor({3.f, 4.f}) * 65536.0);
  optim::SGD opt({p}, optim::SGDOptions(1.0));
  s.unscale_(opt);
  EXPECT_NEAR(optim::clip_grad_norm_({p}, 1.0), 5.0, 1e-5);
  s.step(opt);
  s.update();
  EXPECT_TENSOR_CLOSE(p.detach(), tensor({-0.6f, -0.8f}), 1e-4, 1e-6);
}

TEST(GradScaler, UpdateNeedsACheckedStep) {
  GradScaler s;
  EXPECT_THROW(s.update(), ValueError);
  s.update(1024.0);  // an explicit scale needs none
  EXPECT_EQ(s.get_scale(), 1024.0);
  EXPECT_THROW(s.update(0.0), ValueError);
  EXPECT_THROW(s.update(kInf), ValueError);
}

TEST(GradScaler, RefusesFloat16Gradients) {
  GradScaler s;
  Tensor p = randn({3}).to(kFloat16).requires_grad_();
  p.set_grad(ones({3}, kFloat16));
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  EXPECT_THROW(s.unscale_(opt), DTypeError);
}

TEST(GradScaler, TwoOptimizersOneOverflowingBacksOffOnce) {
  GradScaler s;
  Tensor a = param_with_grad(tensor({1.f}), tensor({65536.f}));
  Tensor b = param_with_grad(tensor({1.f}), tensor({static_cast<float>(kInf)}));
  optim::SGD opt_a({a}, optim::SGDOptions(1.0)), opt_b({b}, optim::SGDOptions(1.0));
  EXPECT_TRUE(s.step(opt_a));
  EXPECT_FALSE(s.step(opt_b));
  EXPECT_TENSOR_CLOSE(a.detach(), tensor({0.f}));
  EXPECT_TENSOR_CLOSE(b.detach(), tensor({1.f}));
  s.update();
  EXPECT_EQ(s.get_scale(), 32768.0);
  EXPECT_EQ(s.skipped_steps(), 1);
}

TEST(GradScaler, DisabledIsAPassThrough) {
  GradScaler s(GradScalerOptions().enabled(false));
  Tensor loss = tensor({2.f});
  EXPECT_TRUE(s.scale(loss).is_same(loss));
  Tensor p = param_with_grad(tensor({1.f}), tensor({static_cast<float>(kInf)}));
  optim::SGD opt({p}, optim::SGDOptions(1.0));
  s.unscale_(opt);
  EXPECT_TRUE(s.step(opt));  // no checks: the step runs
  s.update();
  EXPECT_EQ(s.get_scale(), 1.0);
  EXPECT_TRUE(s.state_dict().empty());
  s.load_state_dict({{"scale", "bogus"}});  // ignored, as PyTorch's
}

// f16 autocast on the CPU with a scaler: a scale so large that the f16
// activation gradients overflow is backed off, those steps are skipped, and
// training then proceeds.
TEST(GradScaler, F16TrainingThroughAutocastRecoversFromAnOverflowingScale) {
  manual_seed(5);
  Tensor x = randn({32, 8}), y = x.matmul(randn({8, 1})) * 0.5;
  Tensor w = zeros({1, 8}).requires_grad_(), b = zeros({1}).requires_grad_();
  optim::SGD opt({w, b}, optim::SGDOptions(0.1));
  GradScaler scaler(GradScalerOptions().init_scale(std::ldexp(1.0, 40)).growth_interval(1000));
  double first = 0, last = 0;
  int ran = 0;
  for (int step = 0; step < 80; ++step) {
    opt.zero_grad();
    Tensor loss;
    {
      amp::AutocastGuard autocast(kCPU, kFloat16);
      loss = mse_loss(linear(x, w, b), y);
      ASSERT_EQ(loss.dtype(), kFloat32);
      scaler.scale(loss).backward();
    }
    ran += scaler.step(opt) ? 1 : 0;
    scaler.update();
    (step == 0 ? first : last) = loss.item<double>();
  }
  // 2^40 times output gradients of about 2^-2 overflow f16 (max 2^16): at
  // least 22 halvings before a step runs.
  EXPECT_GE(scaler.skipped_steps(), 22);
  EXPECT_EQ(ran + scaler.skipped_steps(), 80);
  EXPECT_LE(scaler.get_scale(), std::ldexp(1.0, 18));
  EXPECT_LT(last, 0.2 * first);
  EXPECT_TRUE(std::isfinite(w.detach().sum().item<double>()));
}

// --- state --------------------------------------------------------------------

GradScaler scaler_after_some_steps() {
  GradScaler s(GradScalerOptions().init_scale(1024).growth_interval(7).growth_factor(4).backoff_factor(0.25));
  Tensor p = param_with_grad(tensor({0.f}), tensor({1.f}));
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  for (float g : {1.f, static_cast<float>(kInf), 1.f, 1.f, 1.f}) {
    p.set_grad(tensor({g}));
    s.step(opt);
    s.update();
  }
  return s;
}

TEST(GradScalerState, RoundTripsThroughACheckpoint) {
  GradScaler s = scaler_after_some_steps();
  ASSERT_EQ(s.get_scale(), 256.0);
  ASSERT_EQ(s.growth_tracker(), 3);
  ASSERT_EQ(s.skipped_steps(), 1);

  io::TrainingState state;
  state.step = 5;
  state.model["w"] = zeros({2});
  state.metadata = s.state_dict("grad_scaler.");
  state.metadata["note"] = "kept";
  const std::string path =
      (std::filesystem::temp_directory_path() / ("kiln_grad_scaler_" + std::to_string(::getpid()) + ".safetensors"))
          .string();
  io::save_checkpoint(path, state);
  io::TrainingState loaded = io::load_checkpoint(path);
  std::filesystem::remove(path);

  GradScaler r;
  r.load_state_dict(loaded.metadata, "grad_scaler.");
  EXPECT_EQ(r.get_scale(), 256.0);
  EXPECT_EQ(r.get_growth_factor(), 4.0);
  EXPECT_EQ(r.get_backoff_factor(), 0.25);
  EXPECT_EQ(r.get_growth_interval(), 7);
  EXPECT_EQ(r.growth_tracker(), 3);
  EXPECT_EQ(r.skipped_steps(), 1);
  EXPECT_EQ(r.state_dict(), s.state_dict());
  // Both continue alike: four more clean steps reach the interval.
  Tensor p = param_with_grad(tensor({0.f}), tensor({1.f}));
  optim::SGD opt({p}, optim::SGDOptions(0.1));
  for (GradScaler* g : {&s, &r}) {
    for (int i = 0; i < 4; ++i) {
      p.set_grad(tensor({1.f}));
      g->step(opt);
      g->update();
    }
  }
  EXPECT_EQ(s.get_scale(), 1024.0);
  EXPECT_EQ(r.get_scale(), 1024.0);
}

TEST(GradScalerState, UsesPyTorchsNamesWithoutAPrefix) {
  const auto st = GradScaler().state_dict();
  for (const char* key : {"scale", "growth_factor", "backoff_factor", "growth_interval", "growth_tracker",
                          "skipped_steps"})
    EXPECT_EQ(st.count(key), 1u) << key;
  EXPECT_EQ(st.at("scale"), "65536");
  EXPECT_EQ(st.at("growth_interval"), "2000");
}

TEST(GradScalerState, EveryRestoredValueIsCheckedAndABadStateChangesNothing) {
  const auto good = scaler_after_some_steps().state_dict();
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"scale", "0"},           {"scale", "-2"},           {"scale", "inf"},          {"scale", "nan"},
      {"scale", "12abc"},       {"growth_factor", "1"},    {"growth_factor", "inf"},  {"backoff_factor", "1"},
      {"backoff_factor", "0"},  {"backoff_factor", "-0.5"}, {"growth_interval", "0"}, {"growth_interval", "-3"},
      {"growth_interval", "1.5"}, {"growth_interval", "9007199254740993"}, {"growth_tracker", "7"},
      {"growth_tracker", "-1"}, {"skipped_steps", "-1"},   {"skipped_steps", "x"},    {"skipped_steps", ""},
  };
  for (const auto& [key, value] : bad) {
    SCOPED_TRACE(key + " = \"" + value + "\"");
    auto state = good;
    state[key] = value;
    GradScaler s;
    EXPECT_THROW(s.load_state_dict(state), ValueError);
    EXPECT_EQ(s.state_dict(), GradScaler().state_dict()) << "a refused state changed the scaler";
  }
  for (const char* key : {"scale", "growth_tracker", "skipped_steps"}) {
    auto state = good;
    state.erase(key);
    GradScaler s;
    try {
      s.load_state_dict(state);
      ADD_FAILURE() << "loaded a state without " << key;
    } catch (const ValueError& e) {
      EXPECT_NE(std::string(e.what()).find(key), std::string::npos) << e.what();
    }
  }
  GradScaler s;
  EXPECT_THROW(s.load_state_dict({}), ValueError);
  EXPECT_THROW(s.load_state_dict(good, "grad_scaler."), ValueError);  // nothing under that prefix
}

// --- the same on each device ----------------------------------------------------

// Two parameters, two iterations: a clean step, then one with a NaN.
void skip_on_device(const Device& d) {
  GradScaler s(GradScalerOptions().init_scale(4));
  Tensor a = param_with_grad(tensor({1.f, 2.f}).to(d), tensor({4.f, 8.f}).to(d));
  Tensor b = param_with_grad(tensor({1.f}).to(d), tensor({1.f}).to(d));
  optim::SGD opt({a, b}, optim::SGDOptions(1.0));
  EXPECT_TRUE(s.step(opt));
  EXPECT_TENSOR_CLOSE(a.detach().cpu(), tensor({0.f, 0.f}));
  EXPECT_TENSOR_CLOSE(b.detach().cpu(), tensor({0.75f}));
  s.update();
  a.set_grad(tensor({1.f, std::nanf("")}).to(d));
  b.set_grad(tensor({1.f}).to(d));
  EXPECT_FALSE(s.step(opt));
  EXPECT_TENSOR_CLOSE(b.detach().cpu(), tensor({0.75f}));
  s.update();
  EXPECT_EQ(s.get_scale(), 2.0);
  EXPECT_EQ(s.skipped_steps(), 1);
}

// An f16 linear regression with PyTorch's default scaler: the loss falls,
// the parameters stay f32.
void f16_training_on_device(const Device& d, DeviceType autocast_on) {
  manual_seed(5);
  Tensor xc = randn({32, 8});
  Tensor x = xc.to(d), y = (xc.matmul(randn({8, 1})) * 0.5).to(d);
  Tensor w = zeros({1, 8}).to(d).requires_grad_(), b = zeros({1}).to(d).requires_grad_();
  optim::SGD opt({w, b}, optim::SGDOptions(0.1));
  GradScaler scaler;
  double first = 0, last = 0;
  for (int step = 0; step < 40; ++step) {
    opt.zero_grad();
    Tensor loss;
    {
      amp::AutocastGuard autocast(autocast_on, kFloat16);
      Tensor out = linear(x, w, b);
      ASSERT_EQ(out.dtype(), kFloat16);
      loss = mse_loss(out, y);
      ASSERT_EQ(loss.dtype(), kFloat32);
      scaler.scale(loss).backward();
    }
    scaler.step(opt);
    scaler.update();
    (step == 0 ? first : last) = loss.item<double>();
  }
  EXPECT_EQ(w.dtype(), kFloat32);
  EXPECT_EQ(w.grad().dtype(), kFloat32);
  EXPECT_LT(scaler.skipped_steps(), 10);
  EXPECT_LT(last, 0.05 * first);
}

TEST(GradScalerDevices, SkipsAnOverflowingStepOnTheCpu) { skip_on_device(Device(kCPU)); }
TEST(GradScalerDevices, F16AutocastTrainingOnTheCpu) { f16_training_on_device(Device(kCPU), kCPU); }

TEST(GradScalerDevices, SkipsAnOverflowingStepOnTheGpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  skip_on_device(Device(kCUDA, 0));
}

TEST(GradScalerDevices, F16AutocastTrainingOnTheGpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  f16_training_on_device(Device(kCUDA, 0), kCUDA);
}

}  // namespace
