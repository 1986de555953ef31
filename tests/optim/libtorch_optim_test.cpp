// RMSprop, Adagrad, step(closure), implicit options, ReduceLROnPlateau and
// EMA: updates against torch.optim's formulas in double arithmetic, and
// state_dict round trips that continue exactly.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <functional>
#include <vector>

using namespace kiln;

namespace {

using Vec = std::vector<double>;

Vec grad_of(const Vec& p, int step) {
  const Vec c = {0.5, -1.0, 0.25};
  const double scale = step == 0 ? 10.0 : 0.1;
  Vec g(p.size());
  for (size_t i = 0; i < p.size(); ++i) g[i] = scale * (2 * p[i] + c[i]);
  return g;
}

const Vec kStart = {1.0, -2.0, 0.5};

Tensor param(DType dtype = kFloat64) { return tensor(kStart, {3}, kFloat64).to(dtype).requires_grad_(); }

void run_and_compare(optim::Optimizer& opt, Tensor p, const std::function<void(Vec&, const Vec&, int)>& reference,
                     double tol, int steps = 4) {
  Vec expected = kStart;
  for (int s = 0; s < steps; ++s) {
    const Vec g = grad_of(p.to_vector<double>(), s);
    p.set_grad(tensor(g, {3}, kFloat64).to(p.dtype()));
    opt.step();
    reference(expected, grad_of(expected, s), s);
    const Vec got = p.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << "step " << s + 1 << " element " << i;
  }
}

// torch.optim.RMSprop, one step.
std::function<void(Vec&, const Vec&, int)> rmsprop_reference(double lr, double alpha, double eps, double wd,
                                                              double momentum, bool centered) {
  auto v = std::make_shared<Vec>(3, 0.0), m = std::make_shared<Vec>(3, 0.0), b = std::make_shared<Vec>(3, 0.0);
  return [=](Vec& p, const Vec& grad, int) {
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      (*v)[i] = alpha * (*v)[i] + (1 - alpha) * g * g;
      double avg;
      if (centered) {
        (*m)[i] = alpha * (*m)[i] + (1 - alpha) * g;
        avg = std::sqrt((*v)[i] - (*m)[i] * (*m)[i]) + eps;
      } else {
        avg = std::sqrt((*v)[i]) + eps;
      }
      if (momentum > 0) {
        (*b)[i] = momentum * (*b)[i] + g / avg;
        p[i] -= lr * (*b)[i];
      } else {
        p[i] -= lr * g / avg;
      }
    }
  };
}

// torch.optim.Adagrad, one step.
std::function<void(Vec&, const Vec&, int)> adagrad_reference(double lr, double lr_decay, double wd, double init,
                                                              double eps) {
  auto sum = std::make_shared<Vec>(3, init);
  return [=](Vec& p, const Vec& grad, int step) {
    const double clr = lr / (1 + step * lr_decay);
    for (size_t i = 0; i < p.size(); ++i) {
      const double g = grad[i] + wd * p[i];
      (*sum)[i] += g * g;
      p[i] -= clr * g / (std::sqrt((*sum)[i]) + eps);
    }
  };
}

}  // namespace

TEST(RMSprop, StepsFollowTheFormula) {
  Tensor p = param();
  optim::RMSprop opt({p}, optim::RMSpropOptions(0.01));
  run_and_compare(opt, p, rmsprop_reference(0.01, 0.99, 1e-8, 0, 0, false), 1e-12);
}

TEST(RMSprop, MomentumCenteredAndWeightDecayFollowTheFormula) {
  Tensor p = param();
  optim::RMSprop opt({p}, optim::RMSpropOptions(0.02).alpha(0.9).eps(1e-6).weight_decay(0.1).momentum(0.8).centered(true));
  run_and_compare(opt, p, rmsprop_reference(0.02, 0.9, 1e-6, 0.1, 0.8, true), 1e-12);
}

TEST(RMSprop, Float32ComputesLikeTheDoubleReference) {
  Tensor p = param(kFloat32);
  optim::RMSprop opt({p}, optim::RMSpropOptions(0.01).momentum(0.5));
  run_and_compare(opt, p, rmsprop_reference(0.01, 0.99, 1e-8, 0, 0.5, false), 1e-5);
}

TEST(Adagrad, StepsFollowTheFormula) {
  Tensor p = param();
  optim::Adagrad opt({p}, optim::AdagradOptions(0.1));
  run_and_compare(opt, p, adagrad_reference(0.1, 0, 0, 0, 1e-10), 1e-12);
}

TEST(Adagrad, LrDecayWeightDecayAndInitialAccumulatorFollowTheFormula) {
  Tensor p = param();
  optim::Adagrad opt({p}, optim::AdagradOptions(0.5).lr_decay(0.1).weight_decay(0.05).initial_accumulator_value(0.3).eps(1e-6));
  run_and_compare(opt, p, adagrad_reference(0.5, 0.1, 0.05, 0.3, 1e-6), 1e-12);
}

TEST(NewOptimizers, RejectInvalidOptions) {
  Tensor p = param();
  EXPECT_THROW(optim::RMSprop({p}, optim::RMSpropOptions(-1.0)), ValueError);
  EXPECT_THROW(optim::RMSprop({p}, optim::RMSpropOptions().momentum(-0.1)), ValueError);
  EXPECT_THROW(optim::Adagrad({p}, optim::AdagradOptions().lr_decay(-1)), ValueError);
  EXPECT_THROW(optim::Adagrad({p}, optim::AdagradOptions().initial_accumulator_value(-1)), ValueError);
}

// Two steps, save, a fresh optimizer loads, two more steps: the same as four uninterrupted.
template <class Opt, class Options>
void expect_round_trip(const Options& options) {
  Tensor a = param(), b = param();
  Opt straight({a}, options);
  for (int s = 0; s < 4; ++s) {
    a.set_grad(tensor(grad_of(a.to_vector<double>(), s), {3}, kFloat64));
    straight.step();
  }
  Opt first({b}, options);
  for (int s = 0; s < 2; ++s) {
    b.set_grad(tensor(grad_of(b.to_vector<double>(), s), {3}, kFloat64));
    first.step();
  }
  const optim::OptimizerState saved = first.state_dict();
  Opt second({b}, options);
  second.load_state_dict(saved);
  for (int s = 2; s < 4; ++s) {
    b.set_grad(tensor(grad_of(b.to_vector<double>(), s), {3}, kFloat64));
    second.step();
  }
  EXPECT_TRUE(equal(a, b)) << a << " vs " << b;
}

TEST(NewOptimizers, StateDictRoundTripContinuesExactly) {
  expect_round_trip<optim::RMSprop>(optim::RMSpropOptions(0.01).momentum(0.9).centered(true));
  expect_round_trip<optim::Adagrad>(optim::AdagradOptions(0.1).lr_decay(0.01).initial_accumulator_value(0.1));
}

TEST(Optimizer, ImplicitOptionsAsInLibTorch) {
  Tensor p = param();
  optim::SGD sgd({p}, 0.01);
  EXPECT_DOUBLE_EQ(sgd.defaults().get_lr(), 0.01);
  optim::Adam adam({p}, 0.2);
  EXPECT_DOUBLE_EQ(adam.defaults().get_lr(), 0.2);
  optim::RMSprop rms({p}, 0.3);
  EXPECT_DOUBLE_EQ(rms.defaults().get_lr(), 0.3);
  optim::Adagrad ada({p}, 0.4);
  EXPECT_DOUBLE_EQ(ada.defaults().get_lr(), 0.4);
  nn::Linear fc(3, 2);
  optim::SGD from_module(fc->parameters(), /*lr=*/0.1);
  EXPECT_EQ(from_module.parameters().size(), 2u);
}

TEST(Optimizer, StepWithClosureReturnsTheLossAndSteps) {
  Tensor p = param();
  optim::SGD opt({p}, 0.1);
  int calls = 0;
  auto closure = [&] {
    ++calls;
    opt.zero_grad();
    Tensor loss = (p * p).sum();
    loss.backward();
    return loss;
  };
  Tensor loss;
  {
    NoGradGuard no_grad;  // the closure still records: step(closure) enables gradients
    loss = opt.step(closure);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_DOUBLE_EQ(loss.item<double>(), 1.0 + 4.0 + 0.25);
  // p -= 0.1 * 2p
  const Vec got = p.to_vector<double>();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], 0.8 * kStart[i], 1e-12);
  optim::Adam adam({p}, optim::AdamOptions(0.1));
  EXPECT_GT(adam.step(closure).item<double>(), 0.0);
  EXPECT_THROW(opt.step(optim::Optimizer::LossClosure()), ValueError);
}

TEST(ReduceLROnPlateau, ReducesAfterPatienceAndWaitsOutTheCooldown) {
  Tensor p = param();
  optim::SGD opt({p}, 1.0);
  optim::ReduceLROnPlateauScheduler sched(opt, optim::ReduceLROnPlateauScheduler::min, /*factor=*/0.5,
                                          /*patience=*/2, /*threshold=*/0.01,
                                          optim::ReduceLROnPlateauScheduler::rel, /*cooldown=*/1, {0.2f});
  // PyTorch's sequence for these metrics: lr after each step.
  const std::vector<float> metrics = {10, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9};
  const std::vector<double> lrs = {1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25, 0.25};
  for (size_t i = 0; i < metrics.size(); ++i) {
    sched.step(metrics[i]);
    EXPECT_DOUBLE_EQ(opt.param_groups()[0].options().get_lr(), lrs[i]) << "after step " << i + 1;
  }
  // Not below min_lr: two more reductions would give 0.125, capped at 0.2.
  for (int i = 0; i < 8; ++i) sched.step(9);
  EXPECT_NEAR(sched.get_last_lr()[0], 0.2, 1e-7);
  EXPECT_DOUBLE_EQ(sched.best(), 9.0);
}

TEST(ReduceLROnPlateau, MaxModeAbsThresholdAndStateRoundTrip) {
  Tensor p = param();
  optim::SGD opt({p}, 0.1);
  optim::ReduceLROnPlateauScheduler sched(opt, optim::ReduceLROnPlateauScheduler::max, 0.1, 0, 0.5,
                                          optim::ReduceLROnPlateauScheduler::abs);
  sched.step(1.0);
  sched.step(1.4);  // not better than 1.0 + 0.5: bad, patience 0 -> reduce
  EXPECT_NEAR(sched.get_last_lr()[0], 0.01, 1e-9);  // factor is a float, as in LibTorch
  sched.step(2.0);  // better
  EXPECT_DOUBLE_EQ(sched.best(), 2.0);
  const auto saved = sched.state_dict();
  optim::ReduceLROnPlateauScheduler other(opt, optim::ReduceLROnPlateauScheduler::max, 0.1, 0, 0.5,
                                          optim::ReduceLROnPlateauScheduler::abs);
  other.load_state_dict(saved);
  EXPECT_DOUBLE_EQ(other.best(), 2.0);
  EXPECT_EQ(other.last_epoch(), 3);
  optim::ReduceLROnPlateauScheduler wrong_mode(opt);
  EXPECT_THROW(wrong_mode.load_state_dict(saved), ValueError);
  EXPECT_THROW(optim::ReduceLROnPlateauScheduler(opt, optim::ReduceLROnPlateauScheduler::min, 1.5), ValueError);
}

TEST(EMA, AveragesStoresRestoresAndRoundTrips) {
  Tensor w = tensor({1.0, 2.0}, kFloat64).requires_grad_();
  Tensor count = zeros({}, kInt64);
  optim::EMA ema({w, count}, 0.9);
  {
    NoGradGuard no_grad;
    w.fill_(3.0);
    count.fill_(5);
  }
  ema.update();
  // 0.9 * 1 + 0.1 * 3 = 1.2; 0.9 * 2 + 0.1 * 3 = 2.1
  EXPECT_NEAR(ema.shadow()[0].at<double>({0}), 1.2, 1e-12);
  EXPECT_NEAR(ema.shadow()[0].at<double>({1}), 2.1, 1e-12);
  EXPECT_EQ(ema.shadow()[1].item<int64_t>(), 5) << "integer tensors are copied";
  ema.update();
  EXPECT_NEAR(ema.shadow()[0].at<double>({0}), 0.9 * 1.2 + 0.3, 1e-12);
  ema.store();
  ema.copy_to();
  EXPECT_NEAR(w.at<double>({0}), 0.9 * 1.2 + 0.3, 1e-12);
  EXPECT_TRUE(w.requires_grad());
  ema.restore();
  EXPECT_EQ(w.at<double>({0}), 3.0);
  optim::EMA other({w, count}, 0.9);
  other.load_state_dict(ema.state_dict(), ema.state_metadata());
  EXPECT_EQ(other.num_updates(), 2);
  EXPECT_TRUE(equal(other.shadow()[0], ema.shadow()[0]));
  EXPECT_THROW(other.load_state_dict({}), ValueError);
  EXPECT_THROW(optim::EMA({w}, 1.5), ValueError);
  EXPECT_THROW(other.restore(), ValueError);
}
