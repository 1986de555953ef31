// ReduceLROnPlateauScheduler (torch.optim.lr_scheduler.ReduceLROnPlateau,
// LibTorch's ReduceLROnPlateauScheduler): step(metric) after each
// evaluation; when the metric has not improved for more than `patience`
// steps, every group's lr is multiplied by `factor` (not below its min_lr),
// then `cooldown` steps pass before bad steps count again.
//   improved (mode min, threshold_mode rel): metric < best * (1 - threshold)
//   (min, abs): metric < best - threshold; (max, rel): metric > best * (1 + threshold);
//   (max, abs): metric > best + threshold
// An lr change smaller than eps is not applied. Unlike the closed-form
// schedules, the state (best, bad steps, cooldown) is what state_dict saves.
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedule.h"

namespace kiln::optim {

class ReduceLROnPlateauScheduler {
 public:
  enum SchedulerMode { min, max };
  enum ThresholdMode { rel, abs };

  // min_lr: one per group, or empty (0 for every group).
  explicit ReduceLROnPlateauScheduler(Optimizer& optimizer, SchedulerMode mode = min, float factor = 0.1,
                                      int patience = 10, double threshold = 1e-4, ThresholdMode threshold_mode = rel,
                                      int cooldown = 0, const std::vector<float>& min_lr = {}, double eps = 1e-8,
                                      bool verbose = false);
  ReduceLROnPlateauScheduler(const ReduceLROnPlateauScheduler&) = delete;
  ReduceLROnPlateauScheduler& operator=(const ReduceLROnPlateauScheduler&) = delete;

  void step(float metric);

  double best() const { return best_; }
  int64_t num_bad_epochs() const { return num_bad_epochs_; }
  int64_t last_epoch() const { return last_epoch_; }
  // The lr of each group now.
  std::vector<double> get_last_lr() const;

  SchedulerState state_dict() const;
  // Restores best, the counters and the last epoch; the settings must match.
  void load_state_dict(const SchedulerState& state);

 private:
  bool is_better(double a) const;
  void reduce_lr();

  Optimizer& optimizer_;
  SchedulerMode mode_;
  double factor_;
  int64_t patience_;
  double threshold_;
  ThresholdMode threshold_mode_;
  int64_t cooldown_;
  std::vector<double> min_lrs_;
  double eps_;
  bool verbose_;
  double best_;
  int64_t num_bad_epochs_ = 0, cooldown_counter_ = 0, last_epoch_ = 0;
};

}  // namespace kiln::optim
