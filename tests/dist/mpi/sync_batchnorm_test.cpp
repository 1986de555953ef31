// SyncBatchNorm2d on N ranks against BatchNorm2d in one process on the whole
// batch: a conv / batch-norm / ReLU / pool / linear model (the Fashion-MNIST
// CNN's shape, narrower), trained a few steps; weights and running statistics
// must agree to f32 rounding. Plain BatchNorm2d under DDP does not, which the
// last test shows (the reason the example uses SyncBatchNorm2d).
#include <gtest/gtest.h>

#include <cstdio>

#include "dist_test_util.h"
#include "kiln/dist/dist.h"

namespace kiln::dist {
namespace {

using namespace kiln::testing::dist_util;

std::shared_ptr<nn::SequentialImpl> conv_model(bool sync, uint64_t seed) {
  manual_seed(seed);
  auto m = std::make_shared<nn::SequentialImpl>();
  m->push_back(nn::Conv2d(nn::Conv2dOptions(1, 4, 3).padding(1).bias(false)));
  if (sync) m->push_back(SyncBatchNorm2d(4));
  else m->push_back(nn::BatchNorm2d(4));
  m->push_back(nn::ReLU());
  m->push_back(nn::MaxPool2d(2));
  m->push_back(nn::Flatten());
  m->push_back(nn::Linear(4 * 4 * 4, 3));
  return m;
}

struct ImageBatches {
  std::vector<Tensor> x, y;
};
ImageBatches image_batches(int steps, int64_t n) {
  manual_seed(77);
  ImageBatches b;
  for (int s = 0; s < steps; ++s) {
    b.x.push_back(randn({n, 1, 8, 8}) * 2 + 0.5);
    b.y.push_back(randint(0, 3, {n}));
  }
  return b;
}

double train_and_compare(bool sync) {
  init(InitOptions().device(Device(kCPU)));
  auto c = cpu_communicator();
  const int steps = 6;
  const ImageBatches data = image_batches(steps, 4 * c->world_size());
  auto reference = conv_model(false, 3);
  {
    optim::SGD opt(reference->parameters(), optim::SGDOptions(0.1).momentum(0.9));
    for (int s = 0; s < steps; ++s) {
      Tensor loss = cross_entropy(reference->forward(data.x[s]), data.y[s]);
      opt.zero_grad();
      loss.backward();
      opt.step();
    }
  }
  auto model = conv_model(sync, 3);
  DistributedDataParallel ddp(model, {}, c);
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  for (int s = 0; s < steps; ++s) {
    const Tensor x = shard_rows(data.x[s], c->rank(), c->world_size());
    const Tensor y = shard_rows(data.y[s], c->rank(), c->world_size());
    Tensor loss = cross_entropy(model->forward(x), y);
    opt.zero_grad();
    loss.backward();
    opt.step();
  }
  return max_abs_diff(*model, *reference);  // parameters and running statistics
}

TEST(MpiSyncBatchNorm, EqualsBatchNormOnTheWholeBatch) {
  const double diff = train_and_compare(true);
  std::printf("[rank %d] SyncBatchNorm2d vs one-process BatchNorm2d: max diff %.3g\n", rank(), diff);
  EXPECT_LT(diff, 2e-5);
}

TEST(MpiSyncBatchNorm, PlainBatchNormUnderDdpDoesNot) {
  const double diff = train_and_compare(false);
  std::printf("[rank %d] per-rank BatchNorm2d vs one-process BatchNorm2d: max diff %.3g\n", rank(), diff);
  EXPECT_GT(diff, 1e-3) << "per-rank statistics are another function of the data";
}

TEST(MpiSyncBatchNorm, EvalModeUsesTheRunningStatisticsWithoutCommunicating) {
  init(InitOptions().device(Device(kCPU)));
  auto bn = SyncBatchNorm2d(3);
  auto plain = nn::BatchNorm2d(3);
  bn->eval();
  plain->eval();
  {
    NoGradGuard g;
    bn->running_mean.fill_(0.5);
    plain->running_mean.fill_(0.5);
  }
  manual_seed(1 + static_cast<uint64_t>(rank()));  // different inputs per rank
  const Tensor x = randn({2, 3, 4, 4});
  EXPECT_TENSOR_CLOSE(bn(x), plain(x), 1e-6, 1e-7);
}

}  // namespace
}  // namespace kiln::dist
