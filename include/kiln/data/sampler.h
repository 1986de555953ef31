// Which examples a rank visits in an epoch, in which order. With shuffling,
// the permutation depends only on (seed, epoch), so every rank computes the
// same one and takes its share: positions rank, rank + world_size, ... of the
// permutation padded (by wrapping around to its start) to a multiple of
// world_size, as PyTorch's DistributedSampler does. Ranks therefore see
// disjoint slices of equal length covering the dataset; only the at most
// world_size - 1 padding examples appear twice.
#pragma once
#include <cstdint>
#include <vector>

namespace kiln::data {

class DistributedSampler {
 public:
  DistributedSampler(int64_t dataset_size, bool shuffle = true, uint64_t seed = 0, int64_t rank = 0,
                     int64_t world_size = 1);
  // The indices this rank visits in `epoch`.
  std::vector<int64_t> indices(int64_t epoch) const;
  // Examples per epoch for this rank: ceil(dataset_size / world_size).
  int64_t num_samples() const;
  int64_t rank() const { return rank_; }
  int64_t world_size() const { return world_size_; }

 private:
  int64_t size_;
  bool shuffle_;
  uint64_t seed_;
  int64_t rank_, world_size_;
};

}  // namespace kiln::data
