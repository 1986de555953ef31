// DataLoader: batches of a Dataset, in a seeded order, optionally built by
// background threads, sharded across data-parallel ranks, and resumable.
//
//   data::DataLoader loader(dataset, data::DataLoaderOptions().batch_size(64).shuffle(true).seed(1)
//                                        .num_workers(2).device("cuda:0"));
//   for (int epoch = 0; epoch < 10; ++epoch)
//     for (auto& batch : loader) train_step(batch.data, batch.target);
//
// Epochs: each full pass over the loader is one epoch; the next pass uses the
// next epoch number (and so a new permutation). set_epoch(e) picks one
// explicitly, as with PyTorch's DistributedSampler. The order depends only on
// (seed, epoch, rank, world_size), never on num_workers or thread timing.
//
// Resuming: state() is the position of the next batch (epoch, batch index).
// Saved with a checkpoint and given back to load_state(), the next pass starts
// at exactly that batch. A pass left early (break) resumes the same way; a new
// pass begun without load_state() after a break starts the next epoch.
#pragma once
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <memory>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/data/dataset.h"
#include "kiln/data/sampler.h"

namespace kiln::data {

class DataLoaderOptions {
 public:
  DataLoaderOptions& batch_size(int64_t v) { batch_size_ = v; return *this; }
  DataLoaderOptions& shuffle(bool v) { shuffle_ = v; return *this; }
  DataLoaderOptions& seed(uint64_t v) { seed_ = v; return *this; }
  DataLoaderOptions& drop_last(bool v) { drop_last_ = v; return *this; }
  // Threads that build batches ahead of the consumer; 0 builds them inline.
  DataLoaderOptions& num_workers(int v) { num_workers_ = v; return *this; }
  // Batches each worker may have ready ahead of the consumer.
  DataLoaderOptions& prefetch_factor(int v) { prefetch_factor_ = v; return *this; }
  // Page-locked batches (kiln::cuda::pin_memory, built by the workers) for
  // asynchronous copies to a CUDA device; no effect for a CPU target.
  DataLoaderOptions& pin_memory(bool v) { pin_memory_ = v; return *this; }
  // Where batches are delivered (copied with non_blocking = true).
  DataLoaderOptions& device(Device v) { device_ = v; return *this; }
  // Data-parallel sharding (see sampler.h).
  DataLoaderOptions& rank(int64_t v) { rank_ = v; return *this; }
  DataLoaderOptions& world_size(int64_t v) { world_size_ = v; return *this; }

  int64_t batch_size() const { return batch_size_; }
  bool shuffle() const { return shuffle_; }
  uint64_t seed() const { return seed_; }
  bool drop_last() const { return drop_last_; }
  int num_workers() const { return num_workers_; }
  int prefetch_factor() const { return prefetch_factor_; }
  bool pin_memory() const { return pin_memory_; }
  Device device() const { return device_; }
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }

 private:
  int64_t batch_size_ = 1;
  bool shuffle_ = false;
  uint64_t seed_ = 0;
  bool drop_last_ = false;
  int num_workers_ = 0;
  int prefetch_factor_ = 2;
  bool pin_memory_ = false;
  Device device_ = Device(kCPU);
  int64_t rank_ = 0;
  int64_t world_size_ = 1;
};

struct LoaderState {
  int64_t epoch = 0;
  int64_t batch = 0;  // index of the next batch to deliver
};

namespace detail {
class LoaderPass;
}

class DataLoader {
 public:
  DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options = {});
  ~DataLoader();
  DataLoader(const DataLoader&) = delete;
  DataLoader& operator=(const DataLoader&) = delete;

  class Iterator {
   public:
    using iterator_category = std::input_iterator_tag;
    using value_type = Batch;
    using difference_type = std::ptrdiff_t;
    using pointer = Batch*;
    using reference = Batch&;

    Iterator() = default;
    Batch& operator*() const;
    Batch* operator->() const { return &**this; }
    Iterator& operator++();
    bool operator==(const Iterator& o) const { return done() == o.done(); }
    bool operator!=(const Iterator& o) const { return !(*this == o); }

   private:
    friend class DataLoader;
    explicit Iterator(std::shared_ptr<detail::LoaderPass> pass) : pass_(std::move(pass)) {}
    bool done() const;
    std::shared_ptr<detail::LoaderPass> pass_;
  };

  // Starts a pass (stopping any pass still running); see the top comment.
  Iterator begin();
  Iterator end() { return Iterator(); }

  // Batches per epoch for this rank.
  int64_t size() const;
  // Examples per epoch for this rank (before drop_last).
  int64_t num_samples() const { return sampler_.num_samples(); }
  const DataLoaderOptions& options() const { return options_; }
  Dataset& dataset() const { return *dataset_; }

  void set_epoch(int64_t epoch);
  int64_t epoch() const { return epoch_; }
  LoaderState state() const;
  void load_state(const LoaderState& state);

 private:
  friend class detail::LoaderPass;
  void on_delivered(int64_t epoch, int64_t next_batch);  // called by the running pass

  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  DistributedSampler sampler_;
  int64_t epoch_ = 0;
  int64_t next_batch_ = 0;
  bool pass_open_ = false;  // a pass over epoch_ has begun
  std::shared_ptr<detail::LoaderPass> pass_;
};

}  // namespace kiln::data
