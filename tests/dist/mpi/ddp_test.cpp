// Data-parallel training on N MPI ranks against one process on the whole
// batch: every rank trains its shard (per-rank batch B), and every rank also
// runs the one-process reference on the global batch N * B itself, so the
// two can be compared in place. Models without batch norm (see
// docs/distributed.md); tolerances are f32 summation-order differences.
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

// The model starts from a different seed on every rank: DDP's broadcast
// must make them all rank 0's (seed 11).
std::shared_ptr<nn::SequentialImpl> rank_model(int rank) { return make_mlp(11 + static_cast<uint64_t>(rank) * 1000); }

void report(const char* what, double diff) {
  std::printf("[rank %d] %s: max |w_ddp - w_one_process| = %.3g\n", rank(), what, diff);
}

// Trains on this rank's shard of every global batch with DDP and `opt`.
void train_ddp(nn::SequentialImpl& model, optim::Optimizer& opt, const Batches& data, int micro_batches = 1,
               DistributedDataParallel* ddp = nullptr) {
  const int r = rank(), w = world_size();
  for (size_t s = 0; s < data.x.size(); ++s) {
    const Tensor x = shard_rows(data.x[s], r, w), y = shard_rows(data.y[s], r, w);
    opt.zero_grad();
    const int64_t m = x.size(0) / micro_batches;
    for (int k = 0; k < micro_batches; ++k) {
      Tensor loss = loss_of(model, x.narrow(0, k * m, m), y.narrow(0, k * m, m)) * (1.0 / micro_batches);
      if (ddp != nullptr && k + 1 < micro_batches) {
        auto guard = ddp->no_sync();
        loss.backward();
      } else {
        loss.backward();
      }
    }
    opt.step();
  }
}

TEST(MpiDdp, BroadcastsRankZerosWeights) {
  auto c = comm();
  auto model = rank_model(c->rank());
  DistributedDataParallel ddp(model, {}, c);
  auto expected = make_mlp(11);
  EXPECT_EQ(max_abs_diff(*model, *expected), 0.0);
}

TEST(MpiDdp, SgdOnTheShardsEqualsOneProcessOnTheWholeBatch) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto reference = train_reference(data, 11, sgd_factory());
  auto model = rank_model(c->rank());
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(1024), c);
  EXPECT_GE(ddp.buckets().size(), 3u);
  auto opt = sgd_factory()(model->parameters());
  train_ddp(*model, *opt, data);
  const double diff = max_abs_diff(*model, *reference);
  report("SGD momentum", diff);
  EXPECT_LT(diff, kTol);
  EXPECT_EQ(ddp.sync_count(), kSteps);
}

TEST(MpiDdp, AdamOnTheShardsEqualsOneProcessOnTheWholeBatch) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto reference = train_reference(data, 11, adam_factory());
  auto model = rank_model(c->rank());
  DistributedDataParallel ddp(model, {}, c);  // default caps: one bucket
  auto opt = adam_factory()(model->parameters());
  train_ddp(*model, *opt, data);
  const double diff = max_abs_diff(*model, *reference);
  report("Adam", diff);
  EXPECT_LT(diff, kTol);
  const SyncTiming t = ddp.last_timing();
  EXPECT_EQ(t.buckets, 1);
  EXPECT_GT(t.comm_seconds, 0.0);
  EXPECT_GE(t.bytes, model->parameters().size() * sizeof(float));
}

TEST(MpiDdp, NoSyncAccumulationOverTwoMicroBatchesEqualsOneProcess) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto reference = train_reference(data, 11, sgd_factory());
  auto model = rank_model(c->rank());
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(1024), c);
  auto opt = sgd_factory()(model->parameters());
  train_ddp(*model, *opt, data, /*micro_batches=*/2, &ddp);
  const double diff = max_abs_diff(*model, *reference);
  report("SGD, no_sync over 2 micro-batches", diff);
  EXPECT_LT(diff, kTol);
  EXPECT_EQ(ddp.sync_count(), kSteps) << "one synchronising backward per step";
}

// Parameters registered as [a, b, head] but used as head(tanh(a(x)) + tanh(b(x))),
// with the two branches recorded in a different order on odd ranks, so the
// gradients become ready in a different order on different ranks and
// neither in reverse registration order. One parameter per bucket: any
// launch out of bucket order would pair different buckets across ranks.
struct Branches : nn::Module {
  nn::Linear a{nullptr}, b{nullptr}, head{nullptr};
  explicit Branches(uint64_t seed) : Module("Branches") {
    manual_seed(seed);
    a = register_module("a", nn::Linear(kIn, kHidden));
    b = register_module("b", nn::Linear(kIn, kHidden));
    head = register_module("head", nn::Linear(kHidden, kClasses));
  }
  Tensor forward(const Tensor& x, bool b_first) {
    Tensor ha, hb;
    if (b_first) {
      hb = b(x).tanh();
      ha = a(x).tanh();
    } else {
      ha = a(x).tanh();
      hb = b(x).tanh();
    }
    return head(ha + hb);
  }
};

TEST(MpiDdp, GradientsReadyInADifferentOrderOnEachRankStillMatch) {
  auto c = comm();
  const Batches data = make_batches(kSteps, kPerRank * c->world_size());
  auto reference = std::make_shared<Branches>(21);
  {
    optim::SGD opt(reference->parameters(), optim::SGDOptions(0.2).momentum(0.5));
    for (size_t s = 0; s < data.x.size(); ++s) {
      Tensor loss = cross_entropy(reference->forward(data.x[s], false), data.y[s]);
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  }
  auto model = std::make_shared<Branches>(21 + static_cast<uint64_t>(c->rank()));
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(1).bucket_cap_bytes(1), c);
  EXPECT_EQ(ddp.buckets().size(), model->parameters().size());
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.2).momentum(0.5));
  for (size_t s = 0; s < data.x.size(); ++s) {
    const Tensor x = shard_rows(data.x[s], c->rank(), c->world_size());
    const Tensor y = shard_rows(data.y[s], c->rank(), c->world_size());
    Tensor loss = cross_entropy(model->forward(x, c->rank() % 2 == 1), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  const double diff = max_abs_diff(*model, *reference);
  report("gradients ready in rank-dependent order", diff);
  EXPECT_LT(diff, kTol);
}

TEST(MpiDdp, AParameterUnusedOnSomeRanksGetsTheAverageOfTheOthers) {
  auto c = comm();
  auto model = std::make_shared<Branches>(31);
  DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(1).bucket_cap_bytes(1), c);
  const Tensor x = full({4, kIn}, 0.5, kFloat32);
  // Rank 0 uses branch b; the others do not.
  Tensor out = c->rank() == 0 ? model->forward(x, false) : model->head(model->a(x).tanh());
  out.sum().backward();
  auto local = std::make_shared<Branches>(31);
  local->forward(x, false).sum().backward();
  const Tensor expected = local->b->weight.grad() / c->world_size();
  EXPECT_TENSOR_CLOSE(model->b->weight.grad(), expected, 1e-5, 1e-7);
  EXPECT_EQ(ddp.sync_count(), 1);
}

TEST(MpiDdp, DifferentModelsOnTheRanksRaiseOnEveryRankWithoutHanging) {
  auto c = comm();
  manual_seed(1);
  auto model = std::make_shared<nn::SequentialImpl>(nn::Linear(kIn, kHidden),
                                                    nn::Linear(kHidden, c->rank() == 1 ? kClasses + 1 : kClasses));
  try {
    DistributedDataParallel ddp(model, {}, c);
    ADD_FAILURE() << "rank " << c->rank() << ": no error for models that differ";
  } catch (const ValueError& e) {
    const std::string m = e.what();
    EXPECT_NE(m.find("'1.weight' [6, 16]"), std::string::npos) << m;
    EXPECT_NE(m.find("on rank 1"), std::string::npos) << m;
  }
  // Every rank is still in step.
  c->barrier();
}

TEST(MpiDdp, FrozenParametersAndBuffersAreBroadcastToo) {
  auto c = comm();
  manual_seed(5 + static_cast<uint64_t>(c->rank()));
  auto model = std::make_shared<nn::SequentialImpl>(nn::Linear(kIn, kHidden), nn::BatchNorm2d(3), nn::Linear(kHidden, 2));
  model->named_parameters()[0].second.requires_grad_(false);
  {
    NoGradGuard g;
    model->named_buffers()[0].second.fill_(static_cast<double>(c->rank() + 1));  // running_mean
  }
  DistributedDataParallel ddp(model, {}, c);
  Tensor frozen = model->named_parameters()[0].second.clone();
  Tensor gathered = zeros({c->world_size() * frozen.numel()});
  c->all_gather(gathered, frozen.view({-1}));
  EXPECT_EQ(gathered.narrow(0, 0, frozen.numel()).to_vector<float>(),
            gathered.narrow(0, (c->world_size() - 1) * frozen.numel(), frozen.numel()).to_vector<float>());
  EXPECT_EQ(model->named_buffers()[0].second.at<float>({0}), 1.0f);
}

}  // namespace
}  // namespace kiln::dist
