#include "kiln/data/dataloader.h"

#include "kiln/cuda.h"

#include <algorithm>
#include <condition_variable>
#include <exception>
#include <map>
#include <mutex>
#include <thread>

namespace kiln::data {
namespace detail {

// One pass over one epoch: the batch list, the worker threads and the
// batches they have finished. Batches are numbered; workers claim numbers in
// order and park results in `ready_`, and the consumer takes them strictly in
// number order, so timing never changes the sequence. A worker may run at
// most `capacity_` batches ahead of the consumer (the bounded queue).
class LoaderPass {
 public:
  LoaderPass(DataLoader* loader, int64_t epoch, int64_t first_batch)
      : loader_(loader),
        dataset_(loader->dataset_),
        options_(loader->options_),
        epoch_(epoch),
        indices_(loader->sampler_.indices(epoch)) {
    const int64_t n = static_cast<int64_t>(indices_.size()), bs = options_.batch_size();
    num_batches_ = options_.drop_last() ? n / bs : (n + bs - 1) / bs;
    next_to_yield_ = std::min(first_batch, num_batches_);
    next_to_build_ = next_to_yield_;
    capacity_ = std::max(1, options_.num_workers() * std::max(1, options_.prefetch_factor()));
    for (int w = 0; w < options_.num_workers(); ++w) workers_.emplace_back([this] { work(); });
  }

  ~LoaderPass() { stop(); }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
    }
    space_.notify_all();
    for (auto& t : workers_)
      if (t.joinable()) t.join();
    workers_.clear();
  }

  // Moves to the next batch, or marks the pass finished.
  void advance() {
    if (finished_) return;
    if (next_to_yield_ >= num_batches_) {
      finished_ = true;
      current_ = Batch();
      stop();
      if (loader_) loader_->on_delivered(epoch_, num_batches_);
      return;
    }
    const int64_t b = next_to_yield_;
    Batch batch;
    if (workers_.empty()) {
      batch = build(b);
      next_to_yield_ = b + 1;
    } else {
      batch = take(b);
    }
    if (!options_.device().is_cpu()) {
      batch.data = batch.data.to(options_.device(), /*non_blocking=*/true);
      if (batch.target.defined()) batch.target = batch.target.to(options_.device(), /*non_blocking=*/true);
    }
    current_ = std::move(batch);
    if (loader_) loader_->on_delivered(epoch_, b + 1);
  }

  bool finished() const { return finished_; }
  Batch& current() { return current_; }
  void detach_loader() { loader_ = nullptr; }

 private:
  struct Slot {
    Batch batch;
    std::exception_ptr error;
  };

  Batch build(int64_t b) const {
    const int64_t bs = options_.batch_size();
    const int64_t begin = b * bs;
    const int64_t end = std::min<int64_t>(begin + bs, static_cast<int64_t>(indices_.size()));
    std::vector<int64_t> picked(indices_.begin() + begin, indices_.begin() + end);
    Batch batch = dataset_->get_batch(picked);
    KILN_CHECK(batch.size() == end - begin, ShapeError, "DataLoader: Dataset::get_batch returned ", batch.size(),
               " rows for ", end - begin, " indices");
    if (options_.pin_memory() && options_.device().is_cuda()) {
      // Page-locked copies let the consumer's to(device, non_blocking) run
      // asynchronously; the pinned pool keeps each buffer until its copy ends.
      batch.data = cuda::pin_memory(batch.data);
      if (batch.target.defined()) batch.target = cuda::pin_memory(batch.target);
    }
    batch.epoch = epoch_;
    batch.index = b;
    return batch;
  }

  // Consumer side: waits for batch b, then frees its queue place.
  Batch take(int64_t b) {
    Slot slot;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      ready_cv_.wait(lock, [&] { return ready_.count(b) > 0; });
      auto it = ready_.find(b);
      slot = std::move(it->second);
      ready_.erase(it);
      next_to_yield_ = b + 1;
    }
    space_.notify_all();
    if (slot.error) {
      finished_ = true;
      std::rethrow_exception(slot.error);
    }
    return std::move(slot.batch);
  }

  void work() {
    for (;;) {
      int64_t b;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        space_.wait(lock, [&] {
          return stop_ || next_to_build_ >= num_batches_ || next_to_build_ < next_to_yield_ + capacity_;
        });
        if (stop_ || next_to_build_ >= num_batches_) return;
        b = next_to_build_++;
      }
      Slot slot;
      try {
        slot.batch = build(b);
      } catch (...) {
        slot.error = std::current_exception();
      }
      {
        std::lock_guard<std::mutex> lock(mutex_);
        ready_[b] = std::move(slot);
      }
      ready_cv_.notify_all();
    }
  }

  DataLoader* loader_;
  std::shared_ptr<Dataset> dataset_;
  DataLoaderOptions options_;
  int64_t epoch_;
  std::vector<int64_t> indices_;
  int64_t num_batches_ = 0;
  int64_t capacity_ = 1;

  std::mutex mutex_;
  std::condition_variable ready_cv_, space_;
  std::map<int64_t, Slot> ready_;
  int64_t next_to_yield_ = 0;  // guarded by mutex_ while workers run
  int64_t next_to_build_ = 0;
  bool stop_ = false;
  std::vector<std::thread> workers_;

  bool finished_ = false;
  Batch current_;
};

}  // namespace detail

DataLoader::DataLoader(std::shared_ptr<Dataset> dataset, DataLoaderOptions options)
    : dataset_(std::move(dataset)),
      options_(options),
      sampler_(dataset_ ? dataset_->size() : 0, options.shuffle(), options.seed(), options.rank(),
               options.world_size()) {
  KILN_CHECK(dataset_ != nullptr, ValueError, "DataLoader: dataset is null");
  KILN_CHECK(options_.batch_size() >= 1, ValueError, "DataLoader: batch_size must be >= 1, got ",
             options_.batch_size());
  KILN_CHECK(options_.num_workers() >= 0, ValueError, "DataLoader: num_workers must be >= 0, got ",
             options_.num_workers());
  KILN_CHECK(options_.prefetch_factor() >= 1, ValueError, "DataLoader: prefetch_factor must be >= 1, got ",
             options_.prefetch_factor());
}

DataLoader::~DataLoader() {
  if (pass_) {
    pass_->stop();
    pass_->detach_loader();
  }
}

int64_t DataLoader::size() const {
  const int64_t n = sampler_.num_samples(), bs = options_.batch_size();
  return options_.drop_last() ? n / bs : (n + bs - 1) / bs;
}

DataLoader::Iterator DataLoader::begin() {
  if (pass_) {
    pass_->stop();
    pass_->detach_loader();
    pass_.reset();
  }
  if (pass_open_) {  // the previous pass was left early: move on
    ++epoch_;
    next_batch_ = 0;
  }
  pass_open_ = true;
  dataset_->set_epoch(epoch_);
  pass_ = std::make_shared<detail::LoaderPass>(this, epoch_, next_batch_);
  pass_->advance();
  return Iterator(pass_);
}

void DataLoader::on_delivered(int64_t epoch, int64_t next_batch) {
  epoch_ = epoch;
  next_batch_ = next_batch;
  if (next_batch >= size() && pass_ && pass_->finished()) {
    ++epoch_;
    next_batch_ = 0;
    pass_open_ = false;
  }
}

void DataLoader::set_epoch(int64_t epoch) {
  KILN_CHECK(epoch >= 0, ValueError, "DataLoader::set_epoch: epoch ", epoch, " is negative");
  epoch_ = epoch;
  next_batch_ = 0;
  pass_open_ = false;
}

LoaderState DataLoader::state() const {
  if (next_batch_ >= size()) return {epoch_ + 1, 0};
  return {epoch_, next_batch_};
}

void DataLoader::load_state(const LoaderState& state) {
  // The epoch is bounded like every restored counter (2^53, see
  // optim/number_format.h): the loader increments it, so it must not be near
  // int64's end.
  constexpr int64_t kMaxEpoch = int64_t(1) << 53;
  KILN_CHECK(state.epoch >= 0 && state.epoch < kMaxEpoch && state.batch >= 0 && state.batch <= size(), ValueError,
             "DataLoader::load_state: position (epoch ", state.epoch, ", batch ", state.batch,
             ") is outside an epoch of ", size(), " batches");
  // The end of an epoch is the start of the next one.
  epoch_ = state.batch == size() ? state.epoch + 1 : state.epoch;
  next_batch_ = state.batch == size() ? 0 : state.batch;
  pass_open_ = false;
}

Batch& DataLoader::Iterator::operator*() const {
  KILN_CHECK(pass_ && !pass_->finished(), IndexError, "DataLoader::Iterator: dereferenced past the end");
  return pass_->current();
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
  if (pass_) pass_->advance();
  return *this;
}

bool DataLoader::Iterator::done() const { return !pass_ || pass_->finished(); }

}  // namespace kiln::data
