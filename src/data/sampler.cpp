#include "kiln/data/sampler.h"

#include <numeric>

#include "kiln/core/error.h"
#include "kiln/data/random.h"

namespace kiln::data {

DistributedSampler::DistributedSampler(int64_t dataset_size, bool shuffle, uint64_t seed, int64_t rank,
                                       int64_t world_size)
    : size_(dataset_size), shuffle_(shuffle), seed_(seed), rank_(rank), world_size_(world_size) {
  KILN_CHECK(dataset_size >= 0, ValueError, "DistributedSampler: dataset size ", dataset_size, " is negative");
  KILN_CHECK(world_size >= 1 && rank >= 0 && rank < world_size, ValueError, "DistributedSampler: rank ", rank,
             " must be in [0, world_size) with world_size ", world_size, " >= 1");
}

int64_t DistributedSampler::num_samples() const { return (size_ + world_size_ - 1) / world_size_; }

std::vector<int64_t> DistributedSampler::indices(int64_t epoch) const {
  std::vector<int64_t> order(static_cast<size_t>(size_));
  std::iota(order.begin(), order.end(), int64_t{0});
  if (shuffle_) {
    RandomEngine rng = epoch_engine(seed_, epoch);
    for (size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[uniform_below(rng, i)]);
  }
  std::vector<int64_t> mine;
  if (size_ == 0) return mine;
  const int64_t n = num_samples();
  mine.reserve(static_cast<size_t>(n));
  for (int64_t k = 0; k < n; ++k) mine.push_back(order[static_cast<size_t>((rank_ + k * world_size_) % size_)]);
  return mine;
}

}  // namespace kiln::data
