// Optimizer state_dict round trips, learning-rate schedules against PyTorch's
// formulas, and gradient clipping.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include <kiln/kiln.h>
#include <kiln/optim/optim.h>

namespace {

using kiln::Tensor;
namespace optim = kiln::optim;
constexpr double kPi = 3.14159265358979323846;

Tensor random_param(int64_t n) { return kiln::randn({n}, kiln::kFloat32).requires_grad_(); }

void set_grads(const std::vector<Tensor>& ps, int step) {
  for (size_t i = 0; i < ps.size(); ++i) {
    kiln::manual_seed(1000 + 10 * step + i);
    ps[i].set_grad(kiln::randn(ps[i].sizes(), kiln::kFloat32));
  }
}

std::vector<Tensor> clones(const std::vector<Tensor>& ps) {
  std::vector<Tensor> out;
  for (const auto& p : ps) out.push_back(p.detach().clone().requires_grad_());
  return out;
}

template <class Opt, class Options>
void expect_state_round_trip_continues_identically(const Options& options) {
  kiln::manual_seed(7);
  std::vector<Tensor> a = {random_param(5), random_param(3)};
  Opt opt_a(a, options);
  for (int s = 0; s < 2; ++s) set_grads(a, s), opt_a.step();
  // A second optimizer over copies of the parameters, given only the state dict.
  std::vector<Tensor> b = clones(a);
  Opt opt_b(b, options);
  opt_b.load_state_dict(opt_a.state_dict());
  for (int s = 2; s < 5; ++s) {
    set_grads(a, s), opt_a.step();
    set_grads(b, s), opt_b.step();
  }
  for (size_t i = 0; i < a.size(); ++i) EXPECT_TRUE(kiln::equal(a[i], b[i])) << "param " << i;
}

TEST(OptimizerState, SgdWithMomentumContinuesIdenticallyAfterLoad) {
  expect_state_round_trip_continues_identically<optim::SGD>(optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
}

TEST(OptimizerState, AdamAmsgradContinuesIdenticallyAfterLoad) {
  expect_state_round_trip_continues_identically<optim::Adam>(optim::AdamOptions(0.01).amsgrad(true));
}

TEST(OptimizerState, AdamWContinuesIdenticallyAfterLoad) {
  expect_state_round_trip_continues_identically<optim::AdamW>(optim::AdamWOptions(0.01));
}

TEST(OptimizerState, HoldsMomentsStepCountsAndGroupHyperParameters) {
  Tensor p = random_param(4);
  optim::Adam opt({p}, optim::AdamOptions(0.25).betas({0.8, 0.95}).amsgrad(true));
  for (int s = 0; s < 3; ++s) set_grads({p}, s), opt.step();
  optim::OptimizerState st = opt.state_dict();
  EXPECT_EQ(st.metadata.at("optimizer"), "Adam");
  EXPECT_EQ(st.metadata.at("state.0.step"), "3");
  EXPECT_EQ(st.metadata.at("group.0.lr"), "0.25");
  EXPECT_EQ(st.metadata.at("group.0.beta1"), "0.8");
  EXPECT_EQ(st.metadata.at("group.0.params"), "0");
  EXPECT_EQ(st.tensors.size(), 3u);  // exp_avg, exp_avg_sq, max_exp_avg_sq
  EXPECT_EQ(st.tensors.at("state.0.exp_avg").sizes(), p.sizes());
}

TEST(OptimizerState, LoadRestoresGroupHyperParameters) {
  Tensor p = random_param(4);
  optim::SGD a({p}, optim::SGDOptions(0.5).momentum(0.7));
  optim::SGD b({p.detach().clone().requires_grad_()}, optim::SGDOptions(0.1));
  b.load_state_dict(a.state_dict());
  const auto& o = static_cast<const optim::SGDOptions&>(b.param_groups()[0].options());
  EXPECT_DOUBLE_EQ(o.lr(), 0.5);
  EXPECT_DOUBLE_EQ(o.momentum(), 0.7);
}

TEST(OptimizerState, StateFromAnotherOptimizerKindIsRejected) {
  Tensor p = random_param(4);
  optim::SGD sgd({p}, optim::SGDOptions(0.1));
  optim::Adam adam({p.detach().clone().requires_grad_()});
  EXPECT_THROW(adam.load_state_dict(sgd.state_dict()), kiln::ValueError);
}

TEST(OptimizerState, StateForOtherShapesIsRejected) {
  Tensor p = random_param(4);
  optim::Adam a({p});
  set_grads({p}, 0), a.step();
  optim::Adam b({random_param(5)});
  EXPECT_THROW(b.load_state_dict(a.state_dict()), kiln::ShapeError);
}

// --- schedules -------------------------------------------------------------------

struct OneParam {
  Tensor p = kiln::zeros({1}).requires_grad_();
};

std::vector<double> run_schedule(optim::LRScheduler& s, int steps) {
  std::vector<double> lrs = {s.get_last_lr()[0]};
  for (int i = 1; i < steps; ++i) s.step(), lrs.push_back(s.get_last_lr()[0]);
  return lrs;
}

void expect_lrs(const std::vector<double>& got, const std::vector<double>& expected) {
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], expected[i], 1e-12 * (1 + expected[i])) << "epoch " << i;
}

TEST(Schedule, StepLRDecaysEveryStepSizeEpochs) {
  OneParam m;
  optim::SGD opt({m.p}, optim::SGDOptions(1.0));
  optim::StepLR s(opt, 3, 0.5);
  std::vector<double> expected;
  for (int e = 0; e < 10; ++e) expected.push_back(std::pow(0.5, e / 3));
  expect_lrs(run_schedule(s, 10), expected);
  EXPECT_DOUBLE_EQ(opt.param_groups()[0].options().get_lr(), expected.back());
}

TEST(Schedule, MultiStepLRDecaysAtMilestones) {
  OneParam m;
  optim::SGD opt({m.p}, optim::SGDOptions(0.1));
  optim::MultiStepLR s(opt, {5, 2}, 0.1);
  expect_lrs(run_schedule(s, 7), {0.1, 0.1, 0.01, 0.01, 0.01, 0.001, 0.001});
}

TEST(Schedule, ExponentialLRMultipliesByGammaEachEpoch) {
  OneParam m;
  optim::Adam opt({m.p}, optim::AdamOptions(0.2));
  optim::ExponentialLR s(opt, 0.9);
  std::vector<double> expected;
  double lr = 0.2;  // PyTorch's chainable form: lr *= gamma
  for (int e = 0; e < 8; ++e) expected.push_back(lr), lr *= 0.9;
  expect_lrs(run_schedule(s, 8), expected);
}

TEST(Schedule, CosineAnnealingWithWarmupMatchesLinearLRThenCosineAnnealingLR) {
  OneParam m;
  const double base = 0.4, eta_min = 0.01, f = 0.25;
  const int warmup = 4, t_max = 10;
  optim::SGD opt({m.p}, optim::SGDOptions(base));
  optim::CosineAnnealingLR s(opt, t_max, eta_min, warmup, f);
  // torch.optim.lr_scheduler.LinearLR and CosineAnnealingLR, in their
  // recursive (chainable) forms, joined by SequentialLR at epoch `warmup`.
  std::vector<double> expected;
  double lr = base * f;
  for (int e = 0; e < warmup; ++e) {
    if (e > 0) lr *= 1 + (1 - f) / (warmup * f + (e - 1) * (1 - f));
    expected.push_back(lr);
  }
  lr = base;
  for (int e = 0; e <= t_max; ++e) {
    if (e > 0) lr = (1 + std::cos(kPi * e / t_max)) / (1 + std::cos(kPi * (e - 1) / t_max)) * (lr - eta_min) + eta_min;
    expected.push_back(lr);
  }
  expected.push_back(eta_min);  // held after the cosine ends
  expect_lrs(run_schedule(s, warmup + t_max + 2), expected);
}

TEST(Schedule, OneCycleLRDefaultsFollowPyTorch) {
  OneParam m;
  optim::SGD opt({m.p}, optim::SGDOptions(0.1).momentum(0.9));
  const int total = 10;
  optim::OneCycleLR s(opt, 1.0, total);
  // max_lr 1, div_factor 25, final_div_factor 1e4; phase ends at 0.3*10-1 = 2 and 9.
  const double initial = 1.0 / 25, min_lr = initial / 1e4;
  auto cos_anneal = [](double start, double end, double pct) { return end + (start - end) / 2 * (std::cos(kPi * pct) + 1); };
  std::vector<double> expected_lr, expected_momentum;
  for (int e = 0; e < total; ++e) {
    if (e <= 2) {
      expected_lr.push_back(cos_anneal(initial, 1.0, e / 2.0));
      expected_momentum.push_back(cos_anneal(0.95, 0.85, e / 2.0));
    } else {
      expected_lr.push_back(cos_anneal(1.0, min_lr, (e - 2) / 7.0));
      expected_momentum.push_back(cos_anneal(0.85, 0.95, (e - 2) / 7.0));
    }
  }
  std::vector<double> lrs, momenta;
  for (int e = 0; e < total; ++e) {
    if (e > 0) s.step();
    lrs.push_back(s.get_last_lr()[0]);
    momenta.push_back(static_cast<const optim::SGDOptions&>(opt.param_groups()[0].options()).momentum());
  }
  expect_lrs(lrs, expected_lr);
  expect_lrs(momenta, expected_momentum);
  s.step();  // step number total is still allowed, like PyTorch
  EXPECT_THROW(s.step(), kiln::ValueError);
}

TEST(Schedule, OneCycleLRThreePhaseLinearCyclesAdamBeta1) {
  OneParam m;
  optim::Adam opt({m.p}, optim::AdamOptions(0.1));
  optim::OneCycleLR s(opt, 0.5, 20, optim::OneCycleLROptions().three_phase(true).anneal_strategy("linear").pct_start(0.25));
  const double initial = 0.5 / 25, min_lr = initial / 1e4;
  // phase ends: 0.25*20-1 = 4, 2*0.25*20-2 = 8, 19
  auto lin = [](double a, double b, double pct) { return (b - a) * pct + a; };
  std::vector<double> expected;
  for (int e = 0; e < 20; ++e) {
    if (e <= 4) expected.push_back(lin(initial, 0.5, e / 4.0));
    else if (e <= 8) expected.push_back(lin(0.5, initial, (e - 4) / 4.0));
    else expected.push_back(lin(initial, min_lr, (e - 8) / 11.0));
  }
  expect_lrs(run_schedule(s, 20), expected);
  const auto& o = static_cast<const optim::AdamOptions&>(opt.param_groups()[0].options());
  EXPECT_NEAR(std::get<0>(o.betas()), 0.95, 1e-12);  // phase 3 holds max_momentum
  EXPECT_DOUBLE_EQ(std::get<1>(o.betas()), 0.999);
}

TEST(Schedule, StateDictRestoresTheEpochAndContinues) {
  OneParam m, n;
  optim::SGD opt_a({m.p}, optim::SGDOptions(1.0));
  optim::CosineAnnealingLR a(opt_a, 10, 0.0, 2);
  for (int i = 0; i < 5; ++i) a.step();
  optim::SGD opt_b({n.p}, optim::SGDOptions(1.0));
  optim::CosineAnnealingLR b(opt_b, 10, 0.0, 2);
  b.load_state_dict(a.state_dict());
  EXPECT_EQ(b.last_epoch(), 5);
  a.step(), b.step();
  EXPECT_EQ(a.get_last_lr(), b.get_last_lr());
  EXPECT_EQ(a.state_dict(), b.state_dict());
}

TEST(Schedule, StateOfAnotherScheduleIsRejected) {
  OneParam m;
  optim::SGD opt({m.p}, optim::SGDOptions(1.0));
  optim::StepLR a(opt, 2);
  optim::ExponentialLR b(opt, 0.5);
  EXPECT_THROW(b.load_state_dict(a.state_dict()), kiln::ValueError);
}

// --- clipping --------------------------------------------------------------------

TEST(ClipGrad, NormAboveMaxIsScaledDownAndTheTotalNormReturned) {
  Tensor a = kiln::zeros({2}).requires_grad_(), b = kiln::zeros({1}).requires_grad_(), c = kiln::zeros({1});
  a.set_grad(kiln::tensor({3.0f, 4.0f}));
  b.set_grad(kiln::tensor({12.0f}));
  const double total = optim::clip_grad_norm_({a, b, c}, 6.5);
  EXPECT_NEAR(total, 13.0, 1e-6);  // sqrt(9 + 16 + 144)
  const double coef = 6.5 / (13.0 + 1e-6);
  EXPECT_NEAR(a.grad().to_vector<float>()[1], 4.0 * coef, 1e-5);
  EXPECT_NEAR(b.grad().to_vector<float>()[0], 12.0 * coef, 1e-5);
}

TEST(ClipGrad, NormBelowMaxLeavesGradientsAlone) {
  Tensor a = kiln::zeros({2}).requires_grad_();
  a.set_grad(kiln::tensor({3.0f, 4.0f}));
  EXPECT_NEAR(optim::clip_grad_norm_({a}, 10.0), 5.0, 1e-6);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));
}

TEST(ClipGrad, InfinityAndOneNorms) {
  Tensor a = kiln::zeros({3}).requires_grad_();
  a.set_grad(kiln::tensor({1.0f, -5.0f, 2.0f}));
  EXPECT_NEAR(optim::clip_grad_norm_({a}, 100.0, INFINITY), 5.0, 1e-6);
  EXPECT_NEAR(optim::clip_grad_norm_({a}, 100.0, 1.0), 8.0, 1e-6);
  EXPECT_NEAR(optim::clip_grad_norm_({a}, 4.0, 1.0), 8.0, 1e-6);
  EXPECT_NEAR(a.grad().to_vector<float>()[1], -2.5, 1e-5);
}

TEST(ClipGrad, NonFiniteNormThrowsWhenAsked) {
  Tensor a = kiln::zeros({2}).requires_grad_();
  a.set_grad(kiln::tensor({NAN, 1.0f}));
  EXPECT_THROW(optim::clip_grad_norm_({a}, 1.0, 2.0, /*error_if_nonfinite=*/true), kiln::ValueError);
}

TEST(ClipGrad, NonFiniteNormsAsLibTorch) {
  // A NaN anywhere: the total is NaN, and scaling by it makes every gradient NaN.
  Tensor a = kiln::zeros({2}).requires_grad_(), b = kiln::zeros({2}).requires_grad_();
  a.set_grad(kiln::tensor({NAN, 1.0f}));
  b.set_grad(kiln::tensor({3.0f, 4.0f}));
  EXPECT_TRUE(std::isnan(optim::clip_grad_norm_({a, b}, 1.0)));
  EXPECT_TRUE(std::isnan(b.grad().to_vector<float>()[0]));
  // An inf and no NaN: the total is inf, in every order, and the gradients are scaled by 0.
  for (double order : {2.0, 1.0, 3.0, static_cast<double>(INFINITY)}) {
    a.set_grad(kiln::tensor({INFINITY, 1.0f}));
    b.set_grad(kiln::tensor({3.0f, 4.0f}));
    EXPECT_EQ(optim::clip_grad_norm_({a, b}, 1.0, order), INFINITY) << order;
    EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{0.0f, 0.0f})) << order;
  }
  // error_if_nonfinite throws for both and leaves the gradients as they were.
  for (float bad : {NAN, INFINITY, -INFINITY}) {
    a.set_grad(kiln::tensor({bad, 1.0f}));
    b.set_grad(kiln::tensor({3.0f, 4.0f}));
    try {
      optim::clip_grad_norm_({a, b}, 1.0, 2.0, /*error_if_nonfinite=*/true);
      ADD_FAILURE() << "no error for " << bad;
    } catch (const kiln::ValueError& e) {
      EXPECT_NE(std::string(e.what()).find("non-finite"), std::string::npos) << e.what();
      EXPECT_NE(std::string(e.what()).find("error_if_nonfinite"), std::string::npos) << e.what();
    }
    EXPECT_EQ(b.grad().to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));
  }
  // A finite norm with error_if_nonfinite is the plain clip.
  a.set_grad(kiln::tensor({0.0f, 0.0f}));
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 1.0, 2.0, true), 5.0, 1e-6);
}

TEST(ClipGrad, ManyGradientsOfMixedDtypesAndTheSingleTensorForm) {
  // The fused 2-norm over many tensors of mixed dtypes and strides agrees with the plain sum of squares.
  kiln::manual_seed(11);
  std::vector<Tensor> params;
  double sq = 0;
  for (int i = 0; i < 40; ++i) {
    const kiln::DType t = i % 3 == 0 ? kiln::kFloat64 : i % 3 == 1 ? kiln::kFloat32 : kiln::kBFloat16;
    Tensor p = kiln::zeros({i + 1, 3}, t).requires_grad_();
    Tensor g = kiln::randn({3, i + 1}).to(t).t();  // strided
    p.set_grad(g);
    sq += g.to(kiln::kFloat64).square().sum().item<double>();
    params.push_back(p);
  }
  params.push_back(kiln::zeros({3}).requires_grad_());  // no gradient: skipped
  const double expected = std::sqrt(sq);
  EXPECT_NEAR(optim::clip_grad_norm_(params, 1e9), expected, 1e-9 * expected);
  EXPECT_NEAR(optim::clip_grad_norm_(params, 1.0), expected, 1e-9 * expected);
  double after = 0;
  for (size_t i = 0; i + 1 < params.size(); ++i) after += params[i].grad().to(kiln::kFloat64).square().sum().item<double>();
  EXPECT_NEAR(std::sqrt(after), 1.0, 1e-2);  // bf16 gradients round
  Tensor one = kiln::zeros({2}).requires_grad_();
  one.set_grad(kiln::tensor({6.0f, 8.0f}));
  EXPECT_NEAR(optim::clip_grad_norm_(one, 5.0), 10.0, 1e-6);
  EXPECT_NEAR(one.grad().to_vector<float>()[1], 4.0, 1e-5);
  optim::clip_grad_value_(one, 1.0);
  EXPECT_EQ(one.grad().to_vector<float>(), (std::vector<float>{1.0f, 1.0f}));
  EXPECT_EQ(optim::clip_grad_norm_(std::vector<Tensor>{}, 1.0), 0.0);
}

TEST(ClipGrad, ValueClampsEachElement) {
  Tensor a = kiln::zeros({3}).requires_grad_();
  a.set_grad(kiln::tensor({0.5f, -3.0f, 2.0f}));
  optim::clip_grad_value_({a}, 1.0);
  EXPECT_EQ(a.grad().to_vector<float>(), (std::vector<float>{0.5f, -1.0f, 1.0f}));
}

}  // namespace
