// Everything a training run needs to continue bit for bit from one step,
// held in memory: the model's parameters and buffers, the optimizer's state
// (moments, step counts, group hyper-parameters), the lr schedule, the
// global RNG and the data loader's position. The health guard keeps these
// to roll back to; the same TrainingState is what io::save_checkpoint writes.
#pragma once
#include <cstdint>

#include "kiln/data/dataloader.h"
#include "kiln/io/checkpoint.h"
#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedule.h"

namespace kiln::train {

// The parts of a run a snapshot covers. scheduler may be null.
struct RunParts {
  nn::Module* model = nullptr;
  optim::Optimizer* optimizer = nullptr;
  optim::LRScheduler* scheduler = nullptr;
  data::DataLoader* loader = nullptr;
};

// A deep copy of the run's state before step `step` (tensors cloned, so
// training on does not change it); `position` is where the loader stands
// for that step: the batch of step `step` itself, which the caller may
// already hold. Under ZeRO-1 optimizer.state_dict() is collective: every
// rank must call this at the same step.
io::TrainingState take_snapshot(const RunParts& run, int64_t step, const data::LoaderState& position);
// Puts the run back exactly as it was when `snapshot` was taken (copies the
// values in, so the snapshot stays usable for another restore).
void restore_snapshot(const RunParts& run, const io::TrainingState& snapshot);

// The loader position a snapshot recorded ("data.epoch" and "data.batch").
data::LoaderState loader_position(const io::TrainingState& snapshot);

}  // namespace kiln::train
