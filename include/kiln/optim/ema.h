// optim::EMA: an exponential moving average of weights (PyTorch's
// swa_utils.AveragedModel with get_ema_multi_avg_fn), kept beside the
// trained tensors:
//   shadow = decay * shadow + (1 - decay) * tensor     after each update()
// The shadow starts as a copy of the tensors. Typical use, with the model's
// parameters (and buffers, to average BatchNorm statistics too):
//   optim::EMA ema(model->parameters(), 0.999);
//   ... opt.step(); ema.update();
//   ema.store(); ema.copy_to(); evaluate(model); ema.restore();
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "kiln/core/state_dict.h"
#include "kiln/core/tensor.h"

namespace kiln::optim {

class EMA {
 public:
  // decay in [0, 1]. Integer tensors (counters) are copied, not averaged.
  explicit EMA(std::vector<Tensor> tensors, double decay = 0.999);

  // Folds the tensors' current values into the averages.
  void update();
  // Writes the averages into the tracked tensors.
  void copy_to() const;
  // Saves the tracked tensors' values (for restore()), e.g. before copy_to() for an evaluation.
  void store();
  void restore();

  double decay() const { return decay_; }
  int64_t num_updates() const { return num_updates_; }
  const std::vector<Tensor>& shadow() const { return shadow_; }

  // "shadow.<i>" tensors; num_updates and decay are in state_metadata().
  StateDict state_dict() const;
  std::map<std::string, std::string> state_metadata() const;
  // Restores shadows of the same count and shapes (copied to the tracked tensors' devices).
  void load_state_dict(const StateDict& tensors, const std::map<std::string, std::string>& metadata = {});

 private:
  std::vector<Tensor> tensors_, shadow_, stored_;
  double decay_;
  int64_t num_updates_ = 0;
};

}  // namespace kiln::optim
