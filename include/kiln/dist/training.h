// What a training program needs around DistributedDataParallel: host values
// reduced over ranks, per-rank evaluation results put back in dataset order,
// work done by rank 0 alone without leaving the others hanging, and the world
// size recorded in checkpoints. All use dist::cpu_communicator() and are
// collective: every rank calls them, in the same order. With one process
// they cost nothing. The Fashion-MNIST example shows them in use.
#pragma once
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "kiln/core/tensor.h"
#include "kiln/io/checkpoint.h"

namespace kiln::dist {

// Over all ranks: the sum, mean, max or min of one value per rank.
double all_reduce_sum(double value);
double all_reduce_mean(double value);
double all_reduce_max(double value);
double all_reduce_min(double value);
// Elementwise sums of equally long vectors (e.g. a loss total and a count).
std::vector<double> all_reduce_sum(const std::vector<double>& values);

// Puts back together what the ranks computed on the shards of a
// DataLoader with shuffle(false) and rank/world_size set: rank r's k-th
// example is dataset index r + k * world_size (data::DistributedSampler), so
// `rows` (one row per example this rank saw, in order; the same count on
// every rank) from all ranks interleave into dataset order. Returns, on every
// rank, the rows for dataset indices 0 .. dataset_size - 1 (the padding that
// made the shards equal is dropped). CPU tensors.
Tensor gather_rows_in_dataset_order(const Tensor& rows, int64_t dataset_size);

// Runs fn on rank 0 only, then tells every rank how it went: if fn threw,
// every rank throws a kiln::Error naming `what` and rank 0's message, so no
// rank waits forever for a rank that failed. For saving checkpoints and
// writing logs.
void run_on_main(const std::function<void()>& fn, const std::string& what);

// Checkpoint metadata "dist.world_size": set when saving, checked when
// resuming (a data loader's position means something only for the world
// size it was saved with). A checkpoint without the entry counts as world size 1.
void record_world_size(io::TrainingState& state);
// Throws ValueError unless the checkpoint was saved with this world size.
void check_world_size(const io::TrainingState& state);

}  // namespace kiln::dist
