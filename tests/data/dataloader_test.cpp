#include <kiln/data/dataloader.h>
#include <kiln/ops/factory.h>

#include <kiln/cuda.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <numeric>
#include <set>
#include <thread>

#include "data/test_files.h"

namespace kiln::testing {
namespace {

// Example i has data [i, -i] (float32) and target i, so batches show their indices.
std::shared_ptr<data::TensorDataset> numbered(int64_t n) {
  std::vector<float> values;
  std::vector<int64_t> targets;
  for (int64_t i = 0; i < n; ++i) {
    values.push_back(float(i));
    values.push_back(-float(i));
    targets.push_back(i);
  }
  return std::make_shared<data::TensorDataset>(tensor(values, {n, 2}), tensor(targets, {n}));
}

std::vector<std::vector<int64_t>> epoch_order(data::DataLoader& loader) {
  std::vector<std::vector<int64_t>> out;
  for (auto& batch : loader) out.push_back(batch.target.to_vector<int64_t>());
  return out;
}

std::vector<int64_t> flat(const std::vector<std::vector<int64_t>>& batches) {
  std::vector<int64_t> v;
  for (const auto& b : batches) v.insert(v.end(), b.begin(), b.end());
  return v;
}

TEST(DataLoader, StacksExamplesIntoBatchTensors) {
  data::DataLoader loader(numbered(10), data::DataLoaderOptions().batch_size(4));
  EXPECT_EQ(loader.size(), 3);
  std::vector<Shape> shapes;
  for (auto& batch : loader) {
    shapes.push_back(batch.data.sizes());
    EXPECT_EQ(batch.target.dtype(), kInt64);
    // data row j is [t, -t] for target t.
    auto d = batch.data.to_vector<float>();
    auto t = batch.target.to_vector<int64_t>();
    for (size_t j = 0; j < t.size(); ++j) {
      EXPECT_EQ(d[2 * j], float(t[j]));
      EXPECT_EQ(d[2 * j + 1], -float(t[j]));
    }
  }
  EXPECT_EQ(shapes, (std::vector<Shape>{{4, 2}, {4, 2}, {2, 2}}));
}

TEST(DataLoader, WithoutShuffleVisitsExamplesInOrder) {
  data::DataLoader loader(numbered(5), data::DataLoaderOptions().batch_size(2));
  EXPECT_EQ(flat(epoch_order(loader)), (std::vector<int64_t>{0, 1, 2, 3, 4}));
}

TEST(DataLoader, DropLastDropsTheShortBatch) {
  data::DataLoader loader(numbered(10), data::DataLoaderOptions().batch_size(4).drop_last(true));
  EXPECT_EQ(loader.size(), 2);
  auto order = epoch_order(loader);
  ASSERT_EQ(order.size(), 2u);
  for (const auto& b : order) EXPECT_EQ(b.size(), 4u);
}

TEST(DataLoader, SameSeedGivesSameOrderTwice) {
  auto ds = numbered(50);
  data::DataLoader a(ds, data::DataLoaderOptions().batch_size(8).shuffle(true).seed(42));
  data::DataLoader b(ds, data::DataLoaderOptions().batch_size(8).shuffle(true).seed(42));
  auto first = flat(epoch_order(a));
  EXPECT_EQ(first, flat(epoch_order(b)));
  std::vector<int64_t> sorted = first;
  std::sort(sorted.begin(), sorted.end());
  std::vector<int64_t> all(50);
  std::iota(all.begin(), all.end(), 0);
  EXPECT_EQ(sorted, all);           // a permutation
  EXPECT_NE(first, all);            // and actually shuffled
}

TEST(DataLoader, EachEpochHasANewPermutationDeterminedBySeedAndEpoch) {
  auto ds = numbered(50);
  data::DataLoader a(ds, data::DataLoaderOptions().batch_size(8).shuffle(true).seed(42));
  auto e0 = flat(epoch_order(a));
  auto e1 = flat(epoch_order(a));  // the next pass is epoch 1
  EXPECT_NE(e0, e1);
  data::DataLoader b(ds, data::DataLoaderOptions().batch_size(8).shuffle(true).seed(42));
  b.set_epoch(1);
  EXPECT_EQ(flat(epoch_order(b)), e1);
  data::DataLoader c(ds, data::DataLoaderOptions().batch_size(8).shuffle(true).seed(43));
  EXPECT_NE(flat(epoch_order(c)), e0);
}

TEST(DataLoader, OrderDoesNotDependOnNumWorkers) {
  auto ds = numbered(103);
  auto opts = data::DataLoaderOptions().batch_size(7).shuffle(true).seed(9);
  data::DataLoader inline_loader(ds, opts);
  auto expected0 = epoch_order(inline_loader);
  auto expected1 = epoch_order(inline_loader);
  for (int workers : {1, 2, 4}) {
    data::DataLoader threaded(ds, data::DataLoaderOptions(opts).num_workers(workers).prefetch_factor(1));
    EXPECT_EQ(epoch_order(threaded), expected0) << workers << " workers";
    EXPECT_EQ(epoch_order(threaded), expected1) << workers << " workers";
  }
}

// A dataset whose get() sleeps longer for lower indices, so workers finish out of order.
class SlowEarlyDataset : public data::Dataset {
 public:
  int64_t size() const override { return 24; }
  data::Example get(int64_t i) const override {
    std::this_thread::sleep_for(std::chrono::microseconds(200 * (24 - i)));
    ++calls;
    return {scalar_tensor(double(i), kFloat32), scalar_tensor(i, kInt64)};
  }
  mutable std::atomic<int> calls{0};
};

TEST(DataLoader, WorkersFinishingOutOfOrderStillDeliverInOrder) {
  auto ds = std::make_shared<SlowEarlyDataset>();
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(2).num_workers(4));
  std::vector<int64_t> indices;
  for (auto& batch : loader) {
    EXPECT_EQ(batch.data.sizes(), (Shape{2}));  // scalars stack to [B]
    indices.push_back(batch.index);
  }
  std::vector<int64_t> expected(12);
  std::iota(expected.begin(), expected.end(), 0);
  EXPECT_EQ(indices, expected);
  EXPECT_EQ(ds->calls.load(), 24);
}

TEST(DataLoader, WorkersStayWithinTheBoundedQueue) {
  auto ds = std::make_shared<SlowEarlyDataset>();
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(1).num_workers(2).prefetch_factor(2));
  auto it = loader.begin();
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // One batch delivered, at most 2 x 2 built ahead.
  EXPECT_LE(ds->calls.load(), 1 + 4);
}

TEST(DataLoader, ErrorsInWorkersReachTheConsumer) {
  class Failing : public data::Dataset {
   public:
    int64_t size() const override { return 10; }
    data::Example get(int64_t i) const override {
      KILN_CHECK(i != 5, ValueError, "example 5 is broken");
      return {scalar_tensor(1.0), Tensor()};
    }
  };
  data::DataLoader loader(std::make_shared<Failing>(), data::DataLoaderOptions().batch_size(2).num_workers(2));
  int batches = 0;
  try {
    for (auto& batch : loader) {
      EXPECT_FALSE(batch.target.defined());
      ++batches;
    }
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    EXPECT_NE(std::string(e.what()).find("example 5"), std::string::npos);
  }
  EXPECT_EQ(batches, 2);
}

TEST(DataLoader, ResumesAtTheSavedBatch) {
  auto ds = numbered(40);
  auto opts = data::DataLoaderOptions().batch_size(5).shuffle(true).seed(7);
  data::DataLoader reference(ds, opts);
  epoch_order(reference);
  auto epoch1 = epoch_order(reference);

  data::DataLoader run(ds, opts);
  epoch_order(run);
  data::LoaderState saved;
  int seen = 0;
  for (auto& batch : run) {
    EXPECT_EQ(batch.epoch, 1);
    if (++seen == 3) {
      saved = run.state();  // checkpoint after training on batch 2
      break;
    }
  }
  EXPECT_EQ(saved.epoch, 1);
  EXPECT_EQ(saved.batch, 3);

  data::DataLoader resumed(ds, opts);
  resumed.load_state(saved);
  auto rest = epoch_order(resumed);
  ASSERT_EQ(rest.size(), 5u);
  for (size_t i = 0; i < rest.size(); ++i) EXPECT_EQ(rest[i], epoch1[i + 3]);
  EXPECT_EQ(resumed.state().epoch, 2);
  EXPECT_EQ(resumed.state().batch, 0);
}

TEST(DataLoader, StateAtTheEndOfAnEpochPointsAtTheNextEpoch) {
  data::DataLoader loader(numbered(6), data::DataLoaderOptions().batch_size(3));
  int64_t last_batch_seen = -1;
  for (auto& batch : loader) {
    last_batch_seen = batch.index;
    if (batch.index == 1) {
      EXPECT_EQ(loader.state().epoch, 1);
      EXPECT_EQ(loader.state().batch, 0);
    }
  }
  EXPECT_EQ(last_batch_seen, 1);
  EXPECT_EQ(loader.epoch(), 1);
}

TEST(DataLoader, ANewPassAfterABreakStartsTheNextEpoch) {
  data::DataLoader loader(numbered(20), data::DataLoaderOptions().batch_size(2).shuffle(true));
  for (auto& batch : loader) {
    (void)batch;
    break;
  }
  auto it = loader.begin();
  EXPECT_EQ(it->epoch, 1);
  EXPECT_EQ(it->index, 0);
}

TEST(DataLoader, LoadStateRejectsPositionsOutsideTheEpoch) {
  data::DataLoader loader(numbered(10), data::DataLoaderOptions().batch_size(4));
  EXPECT_THROW(loader.load_state({0, 4}), ValueError);
  EXPECT_THROW(loader.load_state({-1, 0}), ValueError);
}

TEST(DataLoader, ShardsAcrossRanksDisjointlyAndCovering) {
  auto ds = numbered(40);
  std::set<int64_t> seen;
  size_t total = 0;
  for (int64_t rank = 0; rank < 4; ++rank) {
    data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(3).shuffle(true).seed(5).rank(rank).world_size(4));
    EXPECT_EQ(loader.num_samples(), 10);
    EXPECT_EQ(loader.size(), 4);
    auto mine = flat(epoch_order(loader));
    total += mine.size();
    seen.insert(mine.begin(), mine.end());
  }
  EXPECT_EQ(total, 40u);
  EXPECT_EQ(seen.size(), 40u);
}

TEST(DataLoader, MovesBatchesToTheTargetDevice) {
  data::DataLoader loader(numbered(4), data::DataLoaderOptions().batch_size(2).device(Device(kCPU)).pin_memory(true));
  for (auto& batch : loader) EXPECT_TRUE(batch.data.device().is_cpu());
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  data::DataLoader gpu(numbered(4), data::DataLoaderOptions().batch_size(2).device(Device(kCUDA, 0)).pin_memory(true));
  for (auto& batch : gpu) {
    EXPECT_TRUE(batch.data.is_cuda());
    EXPECT_TRUE(batch.target.is_cuda());
  }
}

TEST(DataLoader, RejectsBadOptions) {
  EXPECT_THROW(data::DataLoader(numbered(4), data::DataLoaderOptions().batch_size(0)), ValueError);
  EXPECT_THROW(data::DataLoader(numbered(4), data::DataLoaderOptions().num_workers(-1)), ValueError);
  EXPECT_THROW(data::DataLoader(numbered(4), data::DataLoaderOptions().rank(2).world_size(2)), ValueError);
  EXPECT_THROW(data::DataLoader(nullptr), ValueError);
}

TEST(Collate, MismatchedExampleShapesAreShapeError) {
  std::vector<data::Example> ex{{zeros({2, 3}), Tensor()}, {zeros({3, 2}), Tensor()}};
  EXPECT_THROW(data::collate(ex), ShapeError);
}

TEST(Collate, StacksNonContiguousExamples) {
  Tensor base = arange(6, kFloat32).view({2, 3});
  std::vector<data::Example> ex{{base.t(), scalar_tensor(1, kInt64)}, {base.t(), scalar_tensor(2, kInt64)}};
  data::Batch b = data::collate(ex);
  EXPECT_EQ(b.data.sizes(), (Shape{2, 3, 2}));
  EXPECT_EQ(b.data.to_vector<float>(), (std::vector<float>{0, 3, 1, 4, 2, 5, 0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(b.target.to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
}

TEST(TensorDataset, RejectsTargetsOfAnotherLength) {
  EXPECT_THROW(data::TensorDataset(zeros({4, 2}), zeros({3})), ShapeError);
  data::TensorDataset ds(zeros({4, 2}), zeros({4}));
  EXPECT_THROW(ds.get(4), IndexError);
}

}  // namespace
}  // namespace kiln::testing

namespace kiln::testing {
namespace {

TEST(GatherRows, CopiesRowsOfContiguousAndStridedTensors) {
  Tensor x = arange(12, kFloat32).view({4, 3});
  EXPECT_EQ(data::gather_rows(x, {3, 0, 3}).to_vector<float>(),
            (std::vector<float>{9, 10, 11, 0, 1, 2, 9, 10, 11}));
  Tensor strided = x.t();  // [3, 4], not contiguous
  EXPECT_EQ(data::gather_rows(strided, {1}).to_vector<float>(), (std::vector<float>{1, 4, 7, 10}));
  EXPECT_THROW(data::gather_rows(x, {4}), IndexError);
}

TEST(DataLoader, PinnedBatchesReachTheGpu) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  auto ds = std::make_shared<data::TensorDataset>(arange(20, kFloat32).view({10, 2}), arange(10));
  data::DataLoader loader(ds, data::DataLoaderOptions().batch_size(4).num_workers(2).pin_memory(true).device("cuda:0"));
  std::vector<float> seen;
  for (auto& batch : loader) {
    ASSERT_TRUE(batch.data.is_cuda());
    auto v = batch.data.to_vector<float>();
    seen.insert(seen.end(), v.begin(), v.end());
  }
  std::vector<float> expected(20);
  std::iota(expected.begin(), expected.end(), 0.f);
  EXPECT_EQ(seen, expected);
}

}  // namespace
}  // namespace kiln::testing
