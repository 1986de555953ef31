// The training health guard on a small classification task (four Gaussian
// blobs in 16 dimensions, an MLP with BatchNorm and Dropout, SGD with
// Nesterov momentum and a cosine schedule, a shuffling loader): runs with a
// poisoned batch (NaN inputs) and with a learning-rate spike recover and end
// near the clean run's accuracy; a run that cannot recover stops with a
// report; a rollback restores model, optimizer, schedule, RNG and data
// position bit for bit.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

using namespace kiln;

namespace {

constexpr int64_t kDim = 16, kClasses = 4;

// Points around four fixed centres; the labels are the centres' indices.
std::shared_ptr<data::TensorDataset> blobs(int64_t n, uint64_t seed) {
  manual_seed(seed);
  Tensor centres = randn({kClasses, kDim}) * 1.2;
  Tensor labels = randint(0, kClasses, {n});
  Tensor x = centres.index_select(0, labels) + randn({n, kDim});
  return std::make_shared<data::TensorDataset>(x, labels);
}

struct Mlp : nn::Module {
  nn::Linear fc1{kDim, 32};
  nn::BatchNorm2d bn{32};
  nn::Dropout drop{0.1};
  nn::Linear fc2{32, kClasses};
  Mlp() : Module("Mlp") {
    register_module("fc1", fc1);
    register_module("bn", bn);
    register_module("drop", drop);
    register_module("fc2", fc2);
  }
  // BatchNorm2d over [N, 32, 1, 1]: per-feature batch statistics, running buffers.
  Tensor forward(const Tensor& x) {
    const int64_t n = x.size(0);
    return fc2(drop(relu(bn(fc1(x).reshape({n, 32, 1, 1})).reshape({n, 32}))));
  }
};

double accuracy(Mlp& model, const data::TensorDataset& test) {
  NoGradGuard no_grad;
  model.eval();
  Tensor pred = argmax(model.forward(test.data()), 1);
  model.train();
  return eq(pred, test.targets()).to(kFloat64).mean().item<double>();
}

// What a run injects, and when. Each injection fires the first time the
// run reaches its step (a rollback replays that step clean), except
// poison_from, which poisons every step from there on, every time.
struct Faults {
  int64_t poison_step = -1;
  int64_t spike_step = -1, spike_len = 1;
  double spike_factor = 1.0;
  int64_t poison_from = -1;
};

struct Outcome {
  double accuracy = 0;
  bool stopped = false;
  std::string report;
  std::vector<train::GuardEvent> events;
  StateDict weights;
  int64_t steps_run = 0;  // step executions, replays included
  double max_loss_z = 0, max_grad_z = 0;  // over the accepted steps
};

Outcome run(train::HealthGuardOptions guard_options, const Faults& faults = {}, int epochs = 6) {
  // 1024 training points and 512 test points from the same blobs.
  const auto all = blobs(1536, 1);
  auto train_set = std::make_shared<data::TensorDataset>(all->data().narrow(0, 0, 1024).contiguous(),
                                                         all->targets().narrow(0, 0, 1024).contiguous());
  const data::TensorDataset test_set(all->data().narrow(0, 1024, 512).contiguous(),
                                     all->targets().narrow(0, 1024, 512).contiguous());
  manual_seed(7);
  Mlp model;
  data::DataLoader loader(train_set, data::DataLoaderOptions().batch_size(32).shuffle(true).seed(3).drop_last(true));
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4));
  const int64_t total = loader.size() * epochs;
  optim::CosineAnnealingLR schedule(opt, total, 0.0, 16);
  train::HealthGuard guard({&model, &opt, &schedule, &loader}, guard_options);

  Outcome out;
  int64_t step = 0;
  bool spiked = false, poisoned = false;
  while (step < total && !out.stopped) {
    for (auto& batch : loader) {
      guard.begin_step(step);
      ++out.steps_run;
      Tensor x = batch.data;
      const bool poison = (step == faults.poison_step && !poisoned) || (faults.poison_from >= 0 && step >= faults.poison_from);
      if (poison) {
        poisoned = true;
        x = full_like(x, NAN);
      }
      // A transient spike: the lr is multiplied for spike_len steps, once.
      const bool spike = faults.spike_step >= 0 && !spiked && step >= faults.spike_step &&
                         step < faults.spike_step + faults.spike_len;
      if (spike && step == faults.spike_step + faults.spike_len - 1) spiked = true;
      Tensor loss = cross_entropy(model.forward(x), batch.target);
      opt.zero_grad();
      loss.backward();
      const train::StepHealth h = guard.measure(loss);
      const train::Action a = guard.decide(h);
      if (a == train::Action::Proceed) {
        out.max_loss_z = std::max(out.max_loss_z, guard.last_loss_z());
        out.max_grad_z = std::max(out.max_grad_z, guard.last_grad_z());
        const double lr = opt.param_groups()[0].options().get_lr();
        if (spike) opt.param_groups()[0].options().set_lr(lr * faults.spike_factor);
        opt.step();
        if (spike) opt.param_groups()[0].options().set_lr(lr);
      }
      if (a == train::Action::Proceed || a == train::Action::Skip) {
        schedule.step();
        ++step;
      } else if (a == train::Action::Rollback) {
        step = guard.resume_step();  // the loader stands at that step's batch
        break;
      } else {
        out.stopped = true;
        break;
      }
      if (step >= total) break;
    }
  }
  out.accuracy = accuracy(model, test_set);
  out.report = guard.report();
  out.events = guard.events();
  for (const auto& [name, t] : model.state_dict()) out.weights.emplace(name, t.clone());
  return out;
}

int count(const std::vector<train::GuardEvent>& events, const std::string& kind) {
  int n = 0;
  for (const auto& e : events) n += e.kind == kind;
  return n;
}

std::string describe(const std::vector<train::GuardEvent>& events) {
  std::ostringstream os;
  for (const auto& e : events) os << "  step " << e.step << " " << e.kind << ": " << e.reason << "\n";
  return os.str();
}

const Outcome& clean_run() {
  static const Outcome o = run(train::HealthGuardOptions().policy(train::GuardPolicy::Off));
  return o;
}

}  // namespace

TEST(MultiTensorNorm, CountsNonFiniteElementsPerTensor) {
  Tensor a = tensor(std::vector<double>{3, 4, NAN, INFINITY}, {4});
  Tensor b = tensor(std::vector<double>{1, 2, 2}, {3}).to(kFloat16);
  Tensor c = zeros({0});
  const std::vector<double> v = multi_tensor_norm({a, b, c}).to_vector<double>();
  ASSERT_EQ(v.size(), 6u);
  EXPECT_DOUBLE_EQ(v[0], 5.0);  // over the finite elements only
  EXPECT_EQ(v[1], 2.0);
  EXPECT_DOUBLE_EQ(v[2], 3.0);
  EXPECT_EQ(v[3], 0.0);
  EXPECT_EQ(v[4], 0.0);
  EXPECT_EQ(v[5], 0.0);
}

TEST(OutlierDetector, ZScoreOverTheWindowOnly) {
  train::OutlierDetector d(4);
  for (double v : {1.0, 2.0, 3.0}) d.push(v);
  EXPECT_EQ(d.z_score(100), 0.0) << "no opinion before the window is full";
  d.push(4.0);
  // mean 2.5, population std sqrt(1.25)
  EXPECT_NEAR(d.z_score(5.0), 2.5 / std::sqrt(1.25), 1e-12);
  d.push(NAN);  // ignored
  d.push(5.0);  // drops 1
  EXPECT_NEAR(d.z_score(3.5), 0.0, 1e-12);
}

TEST(OutlierDetector, LogSpaceScoresFactors) {
  train::OutlierDetector d(4, /*log_space=*/true);
  for (double v : {0.1, 0.2, 0.1, 0.2}) d.push(v);
  // log values: mean (ln 0.1 + ln 0.2) / 2, std ln 2 / 2
  const double mean = (std::log(0.1) + std::log(0.2)) / 2, sd = std::log(2.0) / 2;
  EXPECT_NEAR(d.z_score(0.8), (std::log(0.8) - mean) / sd, 1e-9);
  EXPECT_EQ(d.z_score(0.0), 0.0);
  EXPECT_EQ(d.z_score(-1.0), 0.0);
  d.push(-1.0);  // ignored
  EXPECT_EQ(d.size(), 4);
}

TEST(HealthGuard, PolicyNames) {
  EXPECT_EQ(train::guard_policy_from_string("skip"), train::GuardPolicy::Skip);
  EXPECT_STREQ(train::guard_policy_name(train::GuardPolicy::Rollback), "rollback");
  EXPECT_THROW(train::guard_policy_from_string("sometimes"), ValueError);
}

TEST(HealthGuard, CleanRunTrainsAndTheGuardStaysQuiet) {
  const Outcome& clean = clean_run();
  EXPECT_GT(clean.accuracy, 0.9);
  const Outcome guarded = run(train::HealthGuardOptions().policy(train::GuardPolicy::Rollback).snapshot_every(40));
  EXPECT_EQ(count(guarded.events, "skip") + count(guarded.events, "rollback"), 0) << describe(guarded.events);
  EXPECT_GT(count(guarded.events, "checkpoint"), 0);
  std::printf("clean run: accuracy %.4f; largest z-scores of accepted steps: loss %.2f, gradient norm %.2f\n",
              guarded.accuracy, guarded.max_loss_z, guarded.max_grad_z);
  // A guard that never acts changes nothing: the same weights, bit for bit.
  for (const auto& [name, t] : clean.weights)
    EXPECT_TRUE(equal(t, guarded.weights.at(name))) << name;
}

TEST(HealthGuard, PoisonedBatchIsSkippedAndTheRunRecovers) {
  const double clean = clean_run().accuracy;
  for (auto policy : {train::GuardPolicy::Skip, train::GuardPolicy::Rollback}) {
    Faults f;
    f.poison_step = 50;
    const Outcome o = run(train::HealthGuardOptions().policy(policy), f);
    SCOPED_TRACE(train::guard_policy_name(policy));
    ASSERT_EQ(count(o.events, "skip"), 1) << describe(o.events);
    const auto& e = o.events[0].kind == "skip" ? o.events[0] : o.events[1];
    EXPECT_EQ(e.step, 50);
    EXPECT_NE(e.reason.find("the loss is nan"), std::string::npos) << e.reason;
    EXPECT_FALSE(o.stopped);
    EXPECT_NEAR(o.accuracy, clean, 0.02) << "clean " << clean << ", poisoned " << o.accuracy;
    std::printf("NaN inputs at step 50, guard %s: clean %.4f, poisoned %.4f\n", train::guard_policy_name(policy), clean,
                o.accuracy);
  }
  // Without the guard the NaN reaches the weights and the BatchNorm statistics.
  Faults f;
  f.poison_step = 50;
  const Outcome unguarded = run(train::HealthGuardOptions().policy(train::GuardPolicy::Off), f);
  EXPECT_LT(unguarded.accuracy, 0.5);
  std::printf("NaN inputs at step 50, no guard: %.4f\n", unguarded.accuracy);
}

TEST(HealthGuard, LearningRateSpikeIsRolledBackAndTheRunRecovers) {
  const double clean = clean_run().accuracy;
  Faults f;
  f.spike_step = 100;
  f.spike_len = 2;
  f.spike_factor = 3000;
  const Outcome unguarded = run(train::HealthGuardOptions().policy(train::GuardPolicy::Off), f);
  const Outcome o = run(train::HealthGuardOptions().policy(train::GuardPolicy::Rollback).snapshot_every(40), f);
  std::printf("lr spike x%g at steps %lld-%lld: clean %.4f, unguarded %.4f, guarded %.4f\n", f.spike_factor,
              static_cast<long long>(f.spike_step), static_cast<long long>(f.spike_step + f.spike_len - 1), clean,
              unguarded.accuracy, o.accuracy);
  std::printf("%s", describe(o.events).c_str());
  EXPECT_LT(unguarded.accuracy, clean - 0.05) << "the spike must do harm for the test to mean anything";
  EXPECT_GE(count(o.events, "rollback"), 1) << describe(o.events);
  EXPECT_FALSE(o.stopped) << o.report;
  EXPECT_NEAR(o.accuracy, clean, 0.02) << "clean " << clean << ", spiked " << o.accuracy << ", unguarded "
                                       << unguarded.accuracy << "\n" << describe(o.events);
  for (const auto& e : o.events)
    if (e.kind == "rollback") {
      EXPECT_LT(e.lr_scale, 1.0);
      EXPECT_LT(e.step, 100 + 25) << "noticed late: " << e.reason;
    }
}

TEST(HealthGuard, UnrecoverableRunStopsWithAReport) {
  Faults f;
  f.poison_from = 70;
  const Outcome o = run(train::HealthGuardOptions().policy(train::GuardPolicy::Rollback).snapshot_every(20).max_rollbacks(2), f);
  ASSERT_TRUE(o.stopped) << describe(o.events);
  EXPECT_EQ(count(o.events, "rollback"), 2);
  EXPECT_EQ(o.events.back().kind, "stop");
  const std::string& r = o.report;
  EXPECT_NE(r.find("stopped the run at step 72"), std::string::npos) << r;  // 3 troubled steps: 70, 71, 72
  EXPECT_NE(r.find("(epoch 2, batch 8, counting from 0)"), std::string::npos) << r;  // 32 batches an epoch
  EXPECT_NE(r.find("put back to the last good state, that before step 40"), std::string::npos) << r;
  EXPECT_GT(o.accuracy, 0.9) << "after the stop the model is the last good one";
  EXPECT_NE(r.find("the loss is nan"), std::string::npos) << r;
  EXPECT_NE(r.find("NaN/inf gradient elements in fc1.weight"), std::string::npos) << r;
  EXPECT_NE(r.find("2 rollbacks"), std::string::npos) << r;
  // The skip policy gives up after max_consecutive_skips.
  const Outcome s = run(train::HealthGuardOptions().policy(train::GuardPolicy::Skip).max_consecutive_skips(5), f);
  ASSERT_TRUE(s.stopped);
  EXPECT_NE(s.report.find("stopped the run at step 74"), std::string::npos) << s.report;
  EXPECT_NE(s.report.find("5 steps in a row were skipped"), std::string::npos) << s.report;
}

// Every part of a run's state, copied.
struct Captured {
  StateDict model, optim_tensors;
  std::map<std::string, std::string> optim_meta;
  optim::SchedulerState sched;
  GeneratorState rng;
  data::LoaderState pos;
};

TEST(HealthGuard, RollbackRestoresEverythingBitForBit) {
  auto train_set = blobs(1024, 1);
  manual_seed(7);
  Mlp model;
  data::DataLoader loader(train_set, data::DataLoaderOptions().batch_size(32).shuffle(true).seed(3).drop_last(true));
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1).momentum(0.9).nesterov(true).weight_decay(1e-4));
  optim::CosineAnnealingLR schedule(opt, 200, 0.0, 16);
  const std::string ckpt = ::testing::TempDir() + "/kiln_guard_rollback.safetensors";
  std::filesystem::remove(ckpt);
  train::HealthGuard guard(
      {&model, &opt, &schedule, &loader},
      train::HealthGuardOptions().snapshot_every(30).confirm_steps(5).lr_factor(1.0).checkpoint_path(ckpt));

  auto capture = [&](data::LoaderState pos) {
    Captured c;
    for (const auto& [n, t] : model.state_dict()) c.model.emplace(n, t.clone());
    const auto os = opt.state_dict();
    for (const auto& [n, t] : os.tensors) c.optim_tensors.emplace(n, t.clone());
    c.optim_meta = os.metadata;
    c.sched = schedule.state_dict();
    c.rng = get_rng_state();
    c.pos = pos;
    return c;
  };
  // Steps [from, to), crossing an epoch boundary (32 batches an epoch);
  // captures the state before step `at`.
  Captured at_30;
  StateDict after_first_pass;
  auto train_steps = [&](int64_t from, int64_t to, int64_t at) {
    int64_t step = from;
    while (step < to)
      for (auto& batch : loader) {
        guard.begin_step(step);
        if (step == at) at_30 = capture({batch.epoch, batch.index});
        Tensor loss = cross_entropy(model.forward(batch.data), batch.target);
        opt.zero_grad();
        loss.backward();
        EXPECT_EQ(guard.decide(guard.measure(loss)), train::Action::Proceed);
        opt.step();
        schedule.step();
        if (++step == to) break;
      }
  };
  train_steps(0, 50, 30);
  EXPECT_EQ(guard.good_step(), 30) << "the snapshot before step 30 is confirmed at step 35";
  ASSERT_TRUE(std::filesystem::exists(ckpt));
  for (const auto& [n, t] : model.state_dict()) after_first_pass.emplace(n, t.clone());

  guard.rollback("test");
  EXPECT_EQ(guard.resume_step(), 30);
  const Captured now = capture(loader.state());
  for (const auto& [n, t] : at_30.model) EXPECT_TRUE(equal(t, now.model.at(n))) << n;
  ASSERT_EQ(now.optim_tensors.size(), at_30.optim_tensors.size());
  for (const auto& [n, t] : at_30.optim_tensors) EXPECT_TRUE(equal(t, now.optim_tensors.at(n))) << n;
  EXPECT_EQ(now.optim_meta, at_30.optim_meta);
  EXPECT_EQ(now.sched, at_30.sched);
  EXPECT_EQ(now.rng.seed, at_30.rng.seed);
  EXPECT_EQ(now.rng.offset, at_30.rng.offset);
  EXPECT_EQ(now.pos.epoch, at_30.pos.epoch);
  EXPECT_EQ(now.pos.batch, at_30.pos.batch);

  // The file holds the same state.
  const io::TrainingState disk = io::load_checkpoint(ckpt);
  EXPECT_EQ(disk.step, 30);
  for (const auto& [n, t] : at_30.model) EXPECT_TRUE(equal(t, disk.model.at(n))) << n;

  // Replaying steps 30..49 (Dropout draws from the RNG, the loader reshuffles
  // at the epoch boundary) lands on the same weights, bit for bit.
  train_steps(30, 50, -1);
  for (const auto& [n, t] : after_first_pass) EXPECT_TRUE(equal(t, model.state_dict().at(n))) << n;
  std::filesystem::remove(ckpt);
}

TEST(HealthGuard, EveryRankTakesTheActionOfTheMostTroubledRank) {
  auto train_set = blobs(256, 1);
  manual_seed(7);
  Mlp model;
  data::DataLoader loader(train_set, data::DataLoaderOptions().batch_size(32));
  optim::SGD opt(model.parameters(), optim::SGDOptions(0.1));
  std::vector<double> reduced_in;
  // Another rank (simulated) wants a rollback at the second step.
  int calls = 0;
  train::HealthGuard guard({&model, &opt, nullptr, &loader},
                           train::HealthGuardOptions()
                               .world_size(2)
                               .reduce([&](const std::vector<double>& v) {
                                 reduced_in = v;
                                 return std::vector<double>{v[0] + 1.0, v[1] * 2, v[2]};
                               })
                               .agree([&](double a) { return ++calls == 2 ? 2.0 : a; }));
  int64_t step = 0;
  std::vector<train::Action> actions;
  for (auto& batch : loader) {
    guard.begin_step(step);
    Tensor loss = cross_entropy(model.forward(batch.data), batch.target);
    opt.zero_grad();
    loss.backward();
    const train::StepHealth h = guard.measure(loss);
    EXPECT_NEAR(h.loss, (loss.item<double>() + 1.0) / 2, 1e-12) << "the loss is the mean over ranks";
    actions.push_back(guard.decide(h));
    if (actions.back() == train::Action::Proceed) opt.step();
    if (++step == 3) break;
  }
  ASSERT_EQ(reduced_in.size(), 3u);
  EXPECT_EQ(actions[0], train::Action::Proceed);
  EXPECT_EQ(actions[1], train::Action::Rollback);
  EXPECT_NE(guard.events().back().reason.find("another rank chose to rollback"), std::string::npos)
      << guard.events().back().reason;
}
