// The trainer-side helpers, the sampler's sharding and the NCCL unique-id
// exchange over MPI (ncclGetUniqueId needs no GPU), on N MPI ranks.
#include <gtest/gtest.h>

#include <set>

#include "kiln/dist/dist.h"
#include "kiln/kiln.h"

#if __has_include("dist/nccl_unique_id.h")
#include "dist/nccl_unique_id.h"
#endif

namespace kiln::dist {
namespace {

std::shared_ptr<Communicator> comm() {
  init(InitOptions().device(Device(kCPU)));
  return cpu_communicator();
}

TEST(MpiHelpers, ScalarReductions) {
  auto c = comm();
  const int w = c->world_size(), r = c->rank();
  EXPECT_EQ(all_reduce_sum(r + 1.0), w * (w + 1) / 2.0);
  EXPECT_EQ(all_reduce_mean(2.0 * r), w - 1.0);
  EXPECT_EQ(all_reduce_max(static_cast<double>(r)), w - 1.0);
  EXPECT_EQ(all_reduce_min(static_cast<double>(r)), 0.0);
  EXPECT_EQ(all_reduce_sum(std::vector<double>{1.0, static_cast<double>(r)}),
            (std::vector<double>{static_cast<double>(w), w * (w - 1) / 2.0}));
}

TEST(MpiHelpers, ShardedEvaluationRowsComeBackInDatasetOrder) {
  auto c = comm();
  // 11 examples (not a multiple of the world size): a sharded, unshuffled
  // loader; each rank reports the dataset index of every row it saw.
  const int64_t n = 11;
  auto dataset = std::make_shared<data::TensorDataset>(arange(n, kFloat32).view({n, 1}), arange(n, kInt64));
  data::DataLoader loader(dataset,
                          data::DataLoaderOptions().batch_size(2).rank(c->rank()).world_size(c->world_size()));
  std::vector<Tensor> mine;
  for (auto& batch : loader) mine.push_back(batch.data);
  const Tensor all = gather_rows_in_dataset_order(cat(mine, 0), n);
  EXPECT_EQ(all.to_vector<float>(), arange(n, kFloat32).to_vector<float>());
}

TEST(MpiHelpers, SamplerShardsAreDisjointAndCoverTheShuffledEpoch) {
  auto c = comm();
  const int64_t n = 1000;
  const data::DistributedSampler sampler(n, true, 42, c->rank(), c->world_size());
  std::vector<int64_t> mine = sampler.indices(3);
  Tensor t = tensor(mine);
  Tensor all = empty({t.numel() * c->world_size()}, kInt64);
  c->all_gather(all, t);
  std::set<int64_t> seen;
  for (int64_t i : all.to_vector<int64_t>()) seen.insert(i);
  EXPECT_EQ(seen.size(), static_cast<size_t>(n)) << "1000 = a multiple of the world size: no padding, no repeats";
  // The global order is that of one process with the same seed and epoch.
  const std::vector<int64_t> whole = data::DistributedSampler(n, true, 42, 0, 1).indices(3);
  for (size_t k = 0; k < mine.size(); ++k) EXPECT_EQ(mine[k], whole[static_cast<size_t>(c->rank()) + k * c->world_size()]);
}

TEST(MpiHelpers, AFailureOnRankZeroIsRaisedOnEveryRank) {
  auto c = comm();
  int ran = 0;
  try {
    run_on_main(
        [&] {
          ++ran;
          throw IOError("save_checkpoint: disk full");
        },
        "saving the checkpoint");
    ADD_FAILURE() << "rank " << c->rank() << " did not throw";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("disk full"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ran, c->rank() == 0 ? 1 : 0);
  run_on_main([&] { ++ran; }, "nothing");  // and a success is silent everywhere
  EXPECT_EQ(ran, c->rank() == 0 ? 2 : 0);
}

TEST(MpiHelpers, CheckpointWorldSize) {
  comm();
  io::TrainingState state;
  record_world_size(state);
  EXPECT_EQ(state.metadata.at("dist.world_size"), std::to_string(world_size()));
  EXPECT_NO_THROW(check_world_size(state));
  state.metadata.erase("dist.world_size");
  EXPECT_THROW(check_world_size(state), ValueError) << "no entry means one process";
}

TEST(MpiNcclBootstrap, UniqueIdTravelsOverMpi) {
  auto c = comm();
#if __has_include("dist/nccl_unique_id.h") && KILN_TEST_HAVE_NCCL
  const std::vector<uint8_t> id = detail::nccl_unique_id(c.get());
  ASSERT_EQ(id.size(), 128u);
  Tensor mine = tensor(std::vector<int64_t>(id.begin(), id.end()));
  Tensor all = empty({mine.numel() * c->world_size()}, kInt64);
  c->all_gather(all, mine);
  const std::vector<int64_t> v = all.to_vector<int64_t>();
  bool nonzero = false;
  for (size_t i = 0; i < id.size(); ++i) {
    nonzero = nonzero || v[i] != 0;
    for (int r = 1; r < c->world_size(); ++r) EXPECT_EQ(v[r * id.size() + i], v[i]) << "byte " << i << " rank " << r;
  }
  EXPECT_TRUE(nonzero) << "rank 0 made an id";
#else
  GTEST_SKIP() << "kiln was built without NCCL";
#endif
}

}  // namespace
}  // namespace kiln::dist
