// take_snapshot / restore_snapshot: a TrainingState made of clones.
#include "kiln/train/snapshot.h"

#include <string>

#include "kiln/core/grad_mode.h"
#include "kiln/core/generator.h"

namespace kiln::train {

namespace {

StateDict cloned(const StateDict& d) {
  StateDict out;
  for (const auto& [name, t] : d) out.emplace(name, t.detach().clone());
  return out;
}

void check_parts(const RunParts& run, const char* what) {
  KILN_CHECK(run.model != nullptr && run.optimizer != nullptr && run.loader != nullptr, ValueError, what,
             ": the run needs a model, an optimizer and a data loader (the scheduler may be null)");
}

}  // namespace

io::TrainingState take_snapshot(const RunParts& run, int64_t step, const data::LoaderState& pos) {
  check_parts(run, "take_snapshot");
  NoGradGuard no_grad;
  io::TrainingState s;
  s.model = cloned(run.model->state_dict());
  optim::OptimizerState opt = run.optimizer->state_dict();
  s.optimizer.tensors = cloned(opt.tensors);
  s.optimizer.metadata = std::move(opt.metadata);
  if (run.scheduler != nullptr) s.scheduler = run.scheduler->state_dict();
  s.step = step;
  s.epoch = pos.epoch;
  s.rng = get_rng_state();
  s.data_loader = {{"epoch", std::to_string(pos.epoch)}, {"batch", std::to_string(pos.batch)}};
  return s;
}

void restore_snapshot(const RunParts& run, const io::TrainingState& snapshot) {
  check_parts(run, "restore_snapshot");
  NoGradGuard no_grad;
  io::load_state_dict_checked(run.model->state_dict(), snapshot.model);
  // load_state_dict may keep the tensors it is given as the optimizer's
  // state: hand it copies so later steps never write into the snapshot.
  optim::OptimizerState opt;
  opt.tensors = cloned(snapshot.optimizer.tensors);
  opt.metadata = snapshot.optimizer.metadata;
  run.optimizer->load_state_dict(opt);
  if (run.scheduler != nullptr) run.scheduler->load_state_dict(snapshot.scheduler);
  set_rng_state(snapshot.rng);
  run.loader->load_state(loader_position(snapshot));
  run.model->zero_grad();
}

data::LoaderState loader_position(const io::TrainingState& snapshot) {
  auto get = [&](const char* key) {
    auto it = snapshot.data_loader.find(key);
    KILN_CHECK(it != snapshot.data_loader.end(), ValueError, "restore_snapshot: the snapshot has no data loader \"",
               key, "\" entry");
    return std::stoll(it->second);
  };
  return {get("epoch"), get("batch")};
}

}  // namespace kiln::train
