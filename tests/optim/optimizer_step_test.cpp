// SGD, Adam, AdamW and amsgrad steps against the update formulas evaluated in
// plain double arithmetic, three steps on small tensors.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include <kiln/kiln.h>
#include <kiln/optim/optim.h>

namespace {

using kiln::Tensor;
using Vec = std::vector<double>;

// The gradient used at each step: d/dp of sum(p^2) + c.p, i.e. 2p + c, and a
// step-dependent scale so that amsgrad's running max matters.
Vec grad_of(const Vec& p, int step) {
  const Vec c = {0.5, -1.0, 0.25};
  const double scale = step == 0 ? 10.0 : 0.1;
  Vec g(p.size());
  for (size_t i = 0; i < p.size(); ++i) g[i] = scale * (2 * p[i] + c[i]);
  return g;
}

// Runs `steps` optimizer steps on p (gradients from grad_of on p's current
// values) and checks p after each against `reference` advanced the same way.
void run_and_compare(kiln::optim::Optimizer& opt, Tensor p, Vec expected,
                     const std::function<void(Vec&, const Vec&, int)>& reference, double tol, int steps = 3) {
  for (int s = 0; s < steps; ++s) {
    const Vec current = p.to_vector<double>();
    const Vec g = grad_of(current, s);
    p.set_grad(kiln::tensor(g, {static_cast<int64_t>(g.size())}, kiln::kFloat64).to(p.dtype()));
    opt.step();
    reference(expected, grad_of(expected, s), s);
    const Vec got = p.to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i)
      EXPECT_NEAR(got[i], expected[i], tol * (1 + std::abs(expected[i]))) << "step " << s + 1 << " element " << i;
  }
}

const Vec kStart = {1.0, -2.0, 0.5};

Tensor param(kiln::DType dtype = kiln::kFloat64) {
  return kiln::tensor(kStart, {3}, kiln::kFloat64).to(dtype).requires_grad_();
}

// torch.optim.SGD, one step.
std::function<void(Vec&, const Vec&, int)> sgd_reference(double lr, double momentum, double dampening, double wd,
                                                          bool nesterov) {
  auto buf = std::make_shared<Vec>();
  return [=](Vec& p, const Vec& grad, int step) {
    if (buf->empty()) buf->assign(p.size(), 0.0);
    for (size_t i = 0; i < p.size(); ++i) {
      double d = grad[i] + wd * p[i];
      if (momentum != 0) {
        (*buf)[i] = step == 0 ? d : momentum * (*buf)[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * (*buf)[i] : (*buf)[i];
      }
      p[i] -= lr * d;
    }
  };
}

// torch.optim.Adam / AdamW, one step.
std::function<void(Vec&, const Vec&, int)> adam_reference(double lr, double b1, double b2, double eps, double wd,
                                                           bool decoupled, bool amsgrad) {
  auto m = std::make_shared<Vec>(), v = std::make_shared<Vec>(), vmax = std::make_shared<Vec>();
  return [=](Vec& p, const Vec& grad, int step) {
    if (m->empty()) m->assign(p.size(), 0.0), v->assign(p.size(), 0.0), vmax->assign(p.size(), 0.0);
    const int t = step + 1;
    for (size_t i = 0; i < p.size(); ++i) {
      double g = grad[i];
      if (decoupled) {
        p[i] *= 1 - lr * wd;
      } else {
        g += wd * p[i];
      }
      (*m)[i] = b1 * (*m)[i] + (1 - b1) * g;
      (*v)[i] = b2 * (*v)[i] + (1 - b2) * g * g;
      (*vmax)[i] = std::max((*vmax)[i], (*v)[i]);
      const double vhat = amsgrad ? (*vmax)[i] : (*v)[i];
      const double denom = std::sqrt(vhat) / std::sqrt(1 - std::pow(b2, t)) + eps;
      p[i] -= lr / (1 - std::pow(b1, t)) * (*m)[i] / denom;
    }
  };
}

TEST(SGD, PlainStepsFollowTheFormula) {
  Tensor p = param();
  kiln::optim::SGD opt({p}, kiln::optim::SGDOptions(0.1));
  run_and_compare(opt, p, kStart, sgd_reference(0.1, 0, 0, 0, false), 1e-12);
}

TEST(SGD, MomentumDampeningAndWeightDecayFollowTheFormula) {
  Tensor p = param();
  kiln::optim::SGD opt({p}, kiln::optim::SGDOptions(0.05).momentum(0.9).dampening(0.2).weight_decay(0.01));
  run_and_compare(opt, p, kStart, sgd_reference(0.05, 0.9, 0.2, 0.01, false), 1e-12);
}

TEST(SGD, NesterovStepsFollowTheFormula) {
  Tensor p = param();
  kiln::optim::SGD opt({p}, kiln::optim::SGDOptions(0.05).momentum(0.8).nesterov(true).weight_decay(0.1));
  run_and_compare(opt, p, kStart, sgd_reference(0.05, 0.8, 0, 0.1, true), 1e-12);
}

TEST(SGD, Float32AndBFloat16ParamsComputeInFloat32) {
  for (auto [dtype, tol] : {std::pair{kiln::kFloat32, 1e-6}, std::pair{kiln::kBFloat16, 2e-2}}) {
    Tensor p = param(dtype);
    kiln::optim::SGD opt({p}, kiln::optim::SGDOptions(0.05).momentum(0.9));
    run_and_compare(opt, p, p.to_vector<double>(), sgd_reference(0.05, 0.9, 0, 0, false), tol);
    EXPECT_EQ(p.dtype(), dtype);
  }
}

TEST(SGD, NesterovWithoutMomentumIsRejected) {
  Tensor p = param();
  EXPECT_THROW(kiln::optim::SGD({p}, kiln::optim::SGDOptions(0.1).nesterov(true)), kiln::ValueError);
}

TEST(Adam, StepsFollowTheFormulaWithL2WeightDecay) {
  Tensor p = param();
  kiln::optim::Adam opt({p}, kiln::optim::AdamOptions(0.1).betas({0.8, 0.9}).eps(1e-6).weight_decay(0.1));
  run_and_compare(opt, p, kStart, adam_reference(0.1, 0.8, 0.9, 1e-6, 0.1, false, false), 1e-12);
}

TEST(Adam, AmsgradUsesTheRunningMaxOfTheSecondMoment) {
  Tensor p = param();
  kiln::optim::Adam opt({p}, kiln::optim::AdamOptions(0.1).betas({0.5, 0.6}).amsgrad(true));
  run_and_compare(opt, p, kStart, adam_reference(0.1, 0.5, 0.6, 1e-8, 0, false, true), 1e-12);
  // The first gradient is 100x larger than the next, so amsgrad must differ from plain Adam.
  Vec plain = kStart;
  auto ref = adam_reference(0.1, 0.5, 0.6, 1e-8, 0, false, false);
  for (int s = 0; s < 3; ++s) ref(plain, grad_of(plain, s), s);
  EXPECT_GT(std::abs(p.to_vector<double>()[0] - plain[0]), 1e-3);
}

// amsgrad's running max is torch.maximum, which propagates a NaN from either
// side; std::max would drop a NaN second moment and keep the old maximum.
TEST(Adam, AmsgradPropagatesANaNSecondMomentIntoItsRunningMax) {
  const double nan = std::nan("");
  Tensor p = kiln::tensor(Vec{1.0, 2.0}, {2}, kiln::kFloat64).requires_grad_();
  kiln::optim::Adam opt({p}, kiln::optim::AdamOptions(0.1).amsgrad(true));
  p.set_grad(kiln::tensor(Vec{0.5, nan}, {2}, kiln::kFloat64));
  opt.step();
  const kiln::optim::OptimizerState state = opt.state_dict();
  const Vec vmax = state.tensors.at("state.0.max_exp_avg_sq").to_vector<double>();
  EXPECT_FALSE(std::isnan(vmax[0]));
  EXPECT_TRUE(std::isnan(vmax[1])) << "a NaN second moment must reach max_exp_avg_sq, as in PyTorch";
  EXPECT_TRUE(std::isnan(p.to_vector<double>()[1]));
}

TEST(AdamW, DecoupledWeightDecayFollowsTheFormula) {
  Tensor p = param();
  kiln::optim::AdamW opt({p}, kiln::optim::AdamWOptions(0.1).weight_decay(0.5));
  run_and_compare(opt, p, kStart, adam_reference(0.1, 0.9, 0.999, 1e-8, 0.5, true, false), 1e-12);
}

TEST(AdamW, DefaultWeightDecayIsOneHundredth) {
  EXPECT_DOUBLE_EQ(kiln::optim::AdamWOptions().weight_decay(), 1e-2);
  EXPECT_DOUBLE_EQ(kiln::optim::AdamOptions().weight_decay(), 0.0);
}

TEST(AdamW, AmsgradWithFloat16ParamsTracksTheDoubleReference) {
  Tensor p = param(kiln::kFloat16);
  kiln::optim::AdamW opt({p}, kiln::optim::AdamWOptions(0.01).amsgrad(true));
  run_and_compare(opt, p, p.to_vector<double>(), adam_reference(0.01, 0.9, 0.999, 1e-8, 1e-2, true, true), 3e-3);
}

TEST(Optimizer, ParamGroupsUseTheirOwnLearningRates) {
  Tensor a = param(), b = param();
  std::vector<kiln::optim::OptimizerParamGroup> groups;
  groups.emplace_back(std::vector<Tensor>{a});  // takes the default lr 0.1
  groups.emplace_back(std::vector<Tensor>{b}, std::make_unique<kiln::optim::SGDOptions>(0.01));
  kiln::optim::SGD opt(groups, kiln::optim::SGDOptions(0.1));
  a.set_grad(kiln::ones({3}, kiln::kFloat64));
  b.set_grad(kiln::ones({3}, kiln::kFloat64));
  opt.step();
  EXPECT_NEAR(a.to_vector<double>()[0], 1.0 - 0.1, 1e-15);
  EXPECT_NEAR(b.to_vector<double>()[0], 1.0 - 0.01, 1e-15);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].options().get_lr(), 0.01);
}

TEST(Optimizer, AddParamGroupAddsParametersWithDefaultOptions) {
  Tensor a = param(), b = param();
  kiln::optim::Adam opt({a}, kiln::optim::AdamOptions(0.5));
  opt.add_param_group(kiln::optim::OptimizerParamGroup({b}));
  ASSERT_EQ(opt.param_groups().size(), 2u);
  EXPECT_DOUBLE_EQ(opt.param_groups()[1].options().get_lr(), 0.5);
  EXPECT_EQ(opt.parameters().size(), 2u);
}

TEST(Optimizer, AParameterInTwoGroupsIsRejected) {
  Tensor a = param();
  kiln::optim::SGD opt({a}, kiln::optim::SGDOptions(0.1));
  EXPECT_THROW(opt.add_param_group(kiln::optim::OptimizerParamGroup({a})), kiln::ValueError);
}

TEST(Optimizer, ParamsWithoutGradientAreSkipped) {
  Tensor a = param(), b = param();
  kiln::optim::Adam opt({a, b}, kiln::optim::AdamOptions(0.1));
  a.set_grad(kiln::ones({3}, kiln::kFloat64));
  opt.step();
  EXPECT_NE(a.to_vector<double>(), kStart);
  EXPECT_EQ(b.to_vector<double>(), kStart);
  // Only the updated parameter has state.
  auto sd = opt.state_dict();
  EXPECT_TRUE(sd.tensors.count("state.0.exp_avg"));
  EXPECT_FALSE(sd.tensors.count("state.1.exp_avg"));
}

TEST(Optimizer, ZeroGradClearsOrZeroesGradients) {
  Tensor a = param();
  kiln::optim::SGD opt({a}, kiln::optim::SGDOptions(0.1));
  a.set_grad(kiln::ones({3}, kiln::kFloat64));
  opt.zero_grad(/*set_to_none=*/false);
  ASSERT_TRUE(a.grad().defined());
  EXPECT_EQ(a.grad().to_vector<double>(), Vec(3, 0.0));
  opt.zero_grad();
  EXPECT_FALSE(a.grad().defined());
}

TEST(Optimizer, GradientOfAnotherDtypeIsRejected) {
  Tensor a = param();
  kiln::optim::SGD opt({a}, kiln::optim::SGDOptions(0.1));
  a.set_grad(kiln::ones({3}, kiln::kFloat32));
  EXPECT_THROW(opt.step(), kiln::DTypeError);
}

TEST(Optimizer, TrainsThroughAutograd) {
  // minimise sum((p - 3)^2): Adam should get close to 3 everywhere.
  Tensor p = kiln::zeros({4}, kiln::kFloat32).requires_grad_();
  kiln::optim::Adam opt({p}, kiln::optim::AdamOptions(0.1));
  for (int i = 0; i < 300; ++i) {
    opt.zero_grad();
    Tensor loss = ((p - 3.0) * (p - 3.0)).sum();
    loss.backward();
    opt.step();
  }
  for (float v : p.to_vector<float>()) EXPECT_NEAR(v, 3.0f, 1e-2f);
}

}  // namespace
