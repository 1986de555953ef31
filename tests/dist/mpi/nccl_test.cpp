// The NCCL communicator on a GPU: collectives of a one-rank communicator on
// every rank, then all ranks in one NCCL communicator (bootstrapped over MPI)
// training against one process on the whole batch. On one GPU, two ranks need
// NCCL >= 2.30 with NCCL_MULTI_RANK_GPU_ENABLE=1 (2.28 stops with "Duplicate
// GPU detected"); see docs/distributed.md. Skips without a GPU or NCCL.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

#include "dist_test_util.h"
#include "kiln/dist/dist.h"

#if KILN_TEST_HAVE_NCCL
#include "dist/nccl_unique_id.h"
#endif

namespace kiln::dist {
namespace {

using namespace kiln::testing::dist_util;

// Why this rank cannot run the NCCL tests, or "" when it can.
std::string why_not(bool several_ranks) {
#if !KILN_TEST_HAVE_NCCL
  (void)several_ranks;
  return "kiln was built without NCCL";
#else
  if (!cuda::is_available()) return "no GPU: " + cuda::unavailable_reason();
  init(InitOptions().device(Device(kCPU)));
  if (!several_ranks) return "";
  if (cuda::device_count() >= world_size()) return "";
  const char* multi = std::getenv("NCCL_MULTI_RANK_GPU_ENABLE");
  const int v = detail::nccl_runtime_version();
  if (v < 23000)
    return "NCCL " + std::to_string(v) + " refuses several ranks on one GPU (needs >= 2.30 with "
           "NCCL_MULTI_RANK_GPU_ENABLE=1)";
  if (multi == nullptr || std::string(multi) != "1") return "several ranks per GPU need NCCL_MULTI_RANK_GPU_ENABLE=1";
  return "";
#endif
}

// The skip decision must be the same on every rank (a collective follows).
#define SKIP_UNLESS_NCCL(several)                  \
  do {                                             \
    const std::string reason = why_not(several);   \
    if (!reason.empty()) GTEST_SKIP() << reason;   \
  } while (0)

TEST(MpiNccl, OneRankCommunicatorCollectives) {
  SKIP_UNLESS_NCCL(false);
  const int dev = local_rank() % cuda::device_count();
  auto c = make_nccl_communicator(dev, nullptr);
  EXPECT_EQ(c->backend(), "nccl");
  EXPECT_EQ(c->world_size(), 1);
  const Device d(kCUDA, dev);
  for (DType dt : {kFloat32, kBFloat16, kInt64}) {
    Tensor t = arange(0, 1001, 1, TensorOptions().dtype(dt).device(d));
    const std::vector<double> before = t.to_vector<double>();
    c->all_reduce(t, ReduceOp::Sum);
    EXPECT_EQ(t.to_vector<double>(), before);
    c->broadcast(t, 0);
    Tensor out = zeros({1001}, TensorOptions().dtype(dt).device(d));
    c->all_gather(out, t);
    EXPECT_EQ(out.to_vector<double>(), before);
    c->reduce_scatter(out, t, ReduceOp::Max);
    EXPECT_EQ(out.to_vector<double>(), before);
  }
  EXPECT_THROW(c->all_reduce(zeros({3})), DeviceError) << "CPU tensors go to MPI";
  c->barrier();
}

TEST(MpiNccl, AllRanksCollectivesElementByElement) {
  SKIP_UNLESS_NCCL(true);
  const int dev = local_rank() % cuda::device_count();
  auto c = make_nccl_communicator(dev, cpu_communicator());
  const int w = c->world_size(), r = c->rank();
  const Device d(kCUDA, dev);
  Tensor t = full({4099}, r + 1, TensorOptions().dtype(kFloat32).device(d));
  c->all_reduce(t, ReduceOp::Avg);
  EXPECT_EQ(t.at<float>({4098}), (w + 1) / 2.0f);
  Tensor mine = full({5}, r, TensorOptions().dtype(kBFloat16).device(d));
  Tensor all = zeros({5 * w}, TensorOptions().dtype(kBFloat16).device(d));
  c->all_gather(all, mine);
  for (int k = 0; k < w; ++k) EXPECT_EQ(all.at<float>({5 * k}), static_cast<float>(k));
  Tensor big = ones({w * 3}, TensorOptions().dtype(kInt64).device(d));
  Tensor part = big.narrow(0, r * 3, 3);
  c->reduce_scatter(part, big, ReduceOp::Sum);  // in place
  EXPECT_EQ(part.to_vector<int64_t>(), (std::vector<int64_t>(3, w)));
}

TEST(MpiNccl, DdpOverNcclEqualsOneProcessOnTheWholeBatch) {
  SKIP_UNLESS_NCCL(true);
  const int dev = local_rank() % cuda::device_count();
  const Device d(kCUDA, dev);
  auto c = make_nccl_communicator(dev, cpu_communicator());
  Batches data = make_batches(6, 6 * c->world_size());
  for (auto& x : data.x) x = x.to(d);
  for (auto& y : data.y) y = y.to(d);
  auto reference = make_mlp(11);
  reference->to(d);
  {
    auto opt = adam_factory()(reference->parameters());
    for (size_t s = 0; s < data.x.size(); ++s) {
      Tensor loss = loss_of(*reference, data.x[s], data.y[s]);
      opt->zero_grad();
      loss.backward();
      opt->step();
    }
  }
  for (bool zero : {false, true}) {
    auto model = make_mlp(11 + static_cast<uint64_t>(c->rank()));
    model->to(d);
    DistributedDataParallel ddp(model, DDPOptions().first_bucket_cap_bytes(256).bucket_cap_bytes(1024), c);
    std::unique_ptr<optim::Optimizer> opt;
    if (zero)
      opt = std::make_unique<ZeroRedundancyOptimizer>(ddp, [](std::vector<optim::OptimizerParamGroup> g) {
        return std::make_unique<optim::Adam>(std::move(g), optim::AdamOptions(1e-2));
      });
    else
      opt = adam_factory()(model->parameters());
    for (size_t s = 0; s < data.x.size(); ++s) {
      const Tensor x = shard_rows(data.x[s].cpu(), c->rank(), c->world_size()).to(d);
      const Tensor y = shard_rows(data.y[s].cpu(), c->rank(), c->world_size()).to(d);
      Tensor loss = loss_of(*model, x, y);
      opt->zero_grad();
      loss.backward();
      opt->step();
    }
    const double diff = max_abs_diff(*model, *reference);
    std::printf("[rank %d] NCCL%s: max |w_ddp - w_one_process| = %.3g\n", c->rank(), zero ? " ZeRO-1" : "", diff);
    EXPECT_LT(diff, 5e-5);
  }
}

}  // namespace
}  // namespace kiln::dist
