// ZeRO-1 on N MPI ranks: the same weights as one process on the whole batch,
// optimizer state per rank divided by the world size, and checkpoints that
// move between ZeRO-1 and plain DDP in both directions.
#include <gtest/gtest.h>

#include <cstdio>

#include "dist_test_util.h"
#include "kiln/dist/dist.h"

namespace kiln::dist {
namespace {

using namespace kiln::testing::dist_util;

constexpr int kSteps = 8;
constexpr int64_t kPerRank = 6;
constexpr double kTol = 2e-5;

std::shared_ptr<Communicator> comm() {
  init(InitOptions().device(Device(kCPU)));
  return cpu_communicator();
}

ZeroRedundancyOptimizer::Factory zero_adam() {
  return [](std::vector<optim::OptimizerParamGroup> g) {
    return std::make_unique<optim::Adam>(std::move(g), optim::AdamOptions(1e-2));
  };
}

void step_on_shard(nn::SequentialImpl& model, optim::Optimizer& opt, const Batches& data, size_t s) {
  const Tensor x = shard_rows(data.x[s], rank(), world_size()), y = shard_rows(data.y[s], rank(), world_size());
  Tensor loss = loss_of(model, x, y);
  opt.zero_grad();
  loss.backward();
  opt.step();
}

TEST(MpiZero, AdamOnShardsEqualsOneProcessAndStateShrinksByTheWorldSize) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto reference = train_reference(data, 11, adam_factory());
  auto model = make_mlp(11 + 1000 * static_cast<uint64_t>(c->rank()));
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(2048), c);
  ZeroRedundancyOptimizer opt(ddp, zero_adam());
  for (size_t s = 0; s < data.x.size(); ++s) step_on_shard(*model, opt, data, s);
  const double diff = max_abs_diff(*model, *reference);
  std::printf("[rank %d] ZeRO-1 Adam: max |w_ddp - w_one_process| = %.3g\n", c->rank(), diff);
  EXPECT_LT(diff, kTol);

  size_t full_state = 0;
  for (const Tensor& p : model->parameters()) full_state += 2 * static_cast<size_t>(p.numel()) * sizeof(float);
  const size_t mine = opt.state_bytes();
  std::printf("[rank %d] ZeRO-1 Adam state: %zu bytes here, %zu for the whole model\n", c->rank(), mine, full_state);
  // Exactly 1/world of the padded buckets; the padding is at most 32 elements per parameter.
  size_t padded = 0;
  for (const auto& b : ddp.buckets()) padded += 2 * static_cast<size_t>(b.numel) * sizeof(float);
  EXPECT_EQ(mine * static_cast<size_t>(c->world_size()), padded);
  EXPECT_LT(mine, full_state / c->world_size() + model->parameters().size() * 2 * 32 * sizeof(float));
}

TEST(MpiZero, SgdWithTwoGroupsEqualsOneProcess) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto split = [](nn::Module& m) {
    std::vector<Tensor> w, b;
    for (const auto& [name, p] : m.named_parameters()) (name.find("bias") != std::string::npos ? b : w).push_back(p);
    std::vector<optim::OptimizerParamGroup> groups;
    groups.emplace_back(w, std::make_unique<optim::SGDOptions>(optim::SGDOptions(0.1).momentum(0.9).weight_decay(0.01)));
    groups.emplace_back(b);
    return groups;
  };
  auto reference = make_mlp(11);
  {
    optim::SGD opt(split(*reference), optim::SGDOptions(0.1).momentum(0.9));
    for (size_t s = 0; s < data.x.size(); ++s) {
      Tensor loss = loss_of(*reference, data.x[s], data.y[s]);
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  }
  auto model = make_mlp(11);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(1024), c);
  ZeroRedundancyOptimizer opt(ddp, split(*model), [](std::vector<optim::OptimizerParamGroup> g) {
    return std::make_unique<optim::SGD>(std::move(g), optim::SGDOptions(0.1).momentum(0.9));
  });
  for (size_t s = 0; s < data.x.size(); ++s) step_on_shard(*model, opt, data, s);
  const double diff = max_abs_diff(*model, *reference);
  std::printf("[rank %d] ZeRO-1 SGD, 2 groups: max |w_ddp - w_one_process| = %.3g\n", c->rank(), diff);
  EXPECT_LT(diff, kTol);
}

// Half the steps under one optimizer, a checkpoint in the per-parameter form,
// the other half under the other: both directions end where one process does.
TEST(MpiZero, CheckpointsMoveBetweenZeroAndPlainDdp) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto reference = train_reference(data, 11, adam_factory());
  for (bool zero_first : {true, false}) {
    optim::OptimizerState saved;
    StateDict weights;
    {
      auto model = make_mlp(11);
      DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(1024), c);
      std::unique_ptr<optim::Optimizer> opt;
      if (zero_first) opt = std::make_unique<ZeroRedundancyOptimizer>(ddp, zero_adam());
      else opt = adam_factory()(model->parameters());
      for (size_t s = 0; s < kSteps / 2; ++s) step_on_shard(*model, *opt, data, s);
      saved = opt->state_dict();  // through the base class: the virtual hook
      for (const auto& [k, t] : model->state_dict()) weights[k] = t.clone();
    }
    auto model = make_mlp(77);
    model->load_state_dict(weights);
    DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(512).bucket_cap_bytes(4096), c);
    std::unique_ptr<optim::Optimizer> opt;
    if (zero_first) opt = adam_factory()(model->parameters());
    else opt = std::make_unique<ZeroRedundancyOptimizer>(ddp, zero_adam());
    opt->load_state_dict(saved);
    for (size_t s = kSteps / 2; s < kSteps; ++s) step_on_shard(*model, *opt, data, s);
    const double diff = max_abs_diff(*model, *reference);
    std::printf("[rank %d] %s: max |w - w_one_process| = %.3g\n", c->rank(),
                zero_first ? "ZeRO-1 checkpoint resumed by plain DDP" : "plain checkpoint resumed by ZeRO-1", diff);
    EXPECT_LT(diff, kTol) << (zero_first ? "ZeRO -> plain" : "plain -> ZeRO");
  }
}

TEST(MpiZero, ClipGradNormOverShardsEqualsTheWholeGradientNorm) {
  auto c = comm();
  const Batches data = make_batches(1, kPerRank * c->world_size());
  auto whole = make_mlp(11);
  loss_of(*whole, data.x[0], data.y[0]).backward();
  const double expected = optim::clip_grad_norm_(whole->parameters(), 1e-3);
  auto model = make_mlp(11);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(1024), c);
  ZeroRedundancyOptimizer opt(ddp, zero_adam());
  Tensor loss = loss_of(*model, shard_rows(data.x[0], c->rank(), c->world_size()),
                        shard_rows(data.y[0], c->rank(), c->world_size()));
  loss.backward();
  EXPECT_NEAR(opt.clip_grad_norm(1e-3), expected, 1e-5 * expected);
}

}  // namespace
}  // namespace kiln::dist
