// Training checkpoints: everything needed to resume a run bit for bit, in one
// safetensors file (so standard tools can still read the weights):
//   tensors   "model.<name>"  the model's state_dict
//             "optim.<name>"  the optimizer's state tensors (moments, momentum)
//   metadata  "kiln.checkpoint" = "1", "step", "epoch", "rng.seed", "rng.offset",
//             "optim.<key>", "sched.<key>", "data.<key>", "meta.<key>"
// Saving is atomic (see save_safetensors).
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/core/generator.h"
#include "kiln/core/state_dict.h"
#include "kiln/io/safetensors.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedule.h"

namespace kiln::io {

struct TrainingState {
  StateDict model;
  optim::OptimizerState optimizer;
  optim::SchedulerState scheduler;  // empty when there is no schedule
  int64_t step = 0;
  int64_t epoch = 0;
  GeneratorState rng;  // kiln::get_rng_state() at the time of saving
  Metadata data_loader;  // the data loader's position, as its own key/value pairs
  Metadata metadata;     // free-form
};

void save_checkpoint(const std::string& path, const TrainingState& state);
// Loads a checkpoint, tensors on `device`. Throws IOError for a malformed file
// or one that is not a kiln checkpoint.
TrainingState load_checkpoint(const std::string& path, Device device = Device(kCPU));
// The same, and verifies that the model's tensors match `expected_model`
// (names, shapes, dtypes); every mismatch is reported in one ValueError.
TrainingState load_checkpoint(const std::string& path, Device device, const StateDict& expected_model);

// Every way `loaded` differs from `expected`: missing and unexpected names,
// shape and dtype mismatches (empty when they match).
std::vector<std::string> state_dict_mismatches(const StateDict& expected, const StateDict& loaded);
// Checks `loaded` against `expected` (one ValueError listing every mismatch)
// and then copies each loaded tensor into the expected tensor of the same
// name, in place, so tensors that alias a model's parameters receive the values.
void load_state_dict_checked(const StateDict& expected, const StateDict& loaded);

}  // namespace kiln::io
