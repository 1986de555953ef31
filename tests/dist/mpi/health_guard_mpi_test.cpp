// The training health guard under data parallelism: only rank 1's batches
// are poisoned (NaN inputs), yet every rank skips the same steps, rolls back
// at the same step, and ends with the same weights, because the guard's
// measurements are reduced over the ranks and its action agreed on
// (HealthGuardOptions::reduce / agree wired to kiln::dist).
#include <gtest/gtest.h>

#include <cmath>

#include "dist_test_util.h"
#include "kiln/dist/dist.h"
#include "kiln/train/train.h"

namespace kiln::dist {
namespace {

using namespace kiln::testing::dist_util;

TEST(MpiHealthGuard, EveryRankTakesTheSameActions) {
  init(InitOptions().device(Device(kCPU)));
  auto c = cpu_communicator();
  manual_seed(5);
  auto ds = std::make_shared<data::TensorDataset>(randn({512, kIn}), randint(0, kClasses, {512}));
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(16).shuffle(true).seed(2).drop_last(true)
                                  .rank(c->rank()).world_size(c->world_size()));
  auto model = make_mlp(11);
  DistributedDataParallel ddp(model, {}, c);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.05).momentum(0.9));
  train::HealthGuard guard({model.get(), &opt, nullptr, &loader},
                           train::HealthGuardOptions()
                               .snapshot_every(5)
                               .confirm_steps(2)
                               .world_size(c->world_size())
                               .reduce([](const std::vector<double>& v) { return all_reduce_sum(v); })
                               .agree([](double v) { return all_reduce_max(v); }));
  int64_t step = 0;
  std::vector<std::string> actions;
  bool poisoned = false;
  while (step < 30) {
    for (auto& batch : loader) {
      guard.begin_step(step);
      Tensor x = batch.data;
      // Rank 1 alone, steps 12-14, the first time only.
      if (c->rank() == 1 && step >= 12 && step <= 14 && !poisoned) {
        x = full_like(x, NAN);
        if (step == 14) poisoned = true;
      }
      Tensor loss = cross_entropy(model->forward(x), batch.target);
      opt.zero_grad();
      loss.backward();
      const train::Action a = guard.decide(guard.measure(loss));
      actions.push_back(std::to_string(step) + ":" + train::action_name(a));
      if (a == train::Action::Rollback) {
        step = guard.resume_step();
        break;
      }
      if (a == train::Action::Proceed) opt.step();
      if (++step == 30) break;
    }
  }
  EXPECT_EQ(guard.rollbacks(), 1);
  // The same sequence of actions on every rank: compare a digest.
  std::string all;
  for (const auto& s : actions) all += s + " ";
  double digest = 0;
  for (size_t i = 0; i < all.size(); ++i) digest += static_cast<double>(all[i]) * static_cast<double>(i % 97 + 1);
  EXPECT_EQ(all_reduce_max(digest), all_reduce_min(digest)) << "rank " << c->rank() << ": " << all;
  EXPECT_NE(all.find("12:skip 13:skip 14:rollback"), std::string::npos) << all;
  // The same weights on every rank, bit for bit (every rank makes the same
  // collective calls whatever it finds, so a failure cannot hang the others).
  int differ = 0;
  for (const auto& [name, p] : model->named_parameters())
    for (double w : p.to_vector<double>()) differ += all_reduce_max(w) != all_reduce_min(w);
  EXPECT_EQ(differ, 0);
}

}  // namespace
}  // namespace kiln::dist
