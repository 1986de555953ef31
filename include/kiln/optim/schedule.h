// Learning-rate schedules. Like torch.optim.lr_scheduler: constructing a
// schedule sets each group's lr for step 0; every step() advances one step
// (an epoch or an iteration, as the caller uses it) and sets the lr for it.
// The lr is a closed-form function of the step count, so a schedule restored
// from state_dict continues exactly.
#pragma once
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "kiln/optim/optimizer.h"

namespace kiln::optim {

// A schedule's state as strings, ready for safetensors metadata.
using SchedulerState = std::map<std::string, std::string>;

class LRScheduler {
 public:
  virtual ~LRScheduler() = default;
  LRScheduler(const LRScheduler&) = delete;
  LRScheduler& operator=(const LRScheduler&) = delete;

  void step();
  // The lr of each group set by the latest step (or the constructor).
  const std::vector<double>& get_last_lr() const { return last_lr_; }
  // The number of step() calls so far (0 right after construction).
  int64_t last_epoch() const { return last_epoch_; }
  const std::string& name() const { return name_; }
  const std::vector<double>& base_lrs() const { return base_lrs_; }

  // {"scheduler": name, "last_epoch", "base_lrs", "last_lr"}. Like PyTorch,
  // loading does not touch the optimizer: its own state_dict carries the lrs.
  SchedulerState state_dict() const;
  void load_state_dict(const SchedulerState& state);

 protected:
  // base_lrs default to each group's lr at construction.
  LRScheduler(std::string name, Optimizer& optimizer);
  // Derived constructors call this last: it applies the lr of step 0.
  void initial_step();
  // The lr of each group at step `epoch`.
  virtual std::vector<double> lr_at(int64_t epoch) const = 0;
  // Hook for schedules that also set other hyper-parameters (OneCycleLR's momentum).
  virtual void on_step(int64_t /*epoch*/) {}

  Optimizer& optimizer_;
  std::vector<double> base_lrs_;

 private:
  void apply(int64_t epoch);
  std::string name_;
  int64_t last_epoch_ = 0;
  std::vector<double> last_lr_;
};

// lr = base * gamma^floor(epoch / step_size)
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  std::vector<double> lr_at(int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// lr = base * gamma^(number of milestones <= epoch)
class MultiStepLR : public LRScheduler {
 public:
  MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma = 0.1);

 protected:
  std::vector<double> lr_at(int64_t epoch) const override;

 private:
  std::vector<int64_t> milestones_;  // sorted
  double gamma_;
};

// lr = base * gamma^epoch
class ExponentialLR : public LRScheduler {
 public:
  ExponentialLR(Optimizer& optimizer, double gamma);

 protected:
  std::vector<double> lr_at(int64_t epoch) const override;

 private:
  double gamma_;
};

// Linear warmup then cosine annealing; PyTorch's
// SequentialLR([LinearLR(start_factor, total_iters=warmup_steps), CosineAnnealingLR(T_max, eta_min)]):
//   epoch < W:  lr = base * (f + (1 - f) * epoch / W)
//   otherwise:  lr = eta_min + (base - eta_min) * (1 + cos(pi * min(epoch - W, T_max) / T_max)) / 2
// Past W + T_max the lr stays at eta_min (PyTorch's cosine would rise again).
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min = 0.0, int64_t warmup_steps = 0,
                    double warmup_start_factor = 1.0 / 3.0);

 protected:
  std::vector<double> lr_at(int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
  int64_t warmup_steps_;
  double warmup_start_factor_;
};

struct OneCycleLROptions {
  OneCycleLROptions& pct_start(double v) { pct_start_ = v; return *this; }
  OneCycleLROptions& anneal_strategy(const std::string& v) { anneal_strategy_ = v; return *this; }  // "cos" | "linear"
  OneCycleLROptions& cycle_momentum(bool v) { cycle_momentum_ = v; return *this; }
  OneCycleLROptions& base_momentum(double v) { base_momentum_ = v; return *this; }
  OneCycleLROptions& max_momentum(double v) { max_momentum_ = v; return *this; }
  OneCycleLROptions& div_factor(double v) { div_factor_ = v; return *this; }
  OneCycleLROptions& final_div_factor(double v) { final_div_factor_ = v; return *this; }
  OneCycleLROptions& three_phase(bool v) { three_phase_ = v; return *this; }
  double pct_start() const { return pct_start_; }
  const std::string& anneal_strategy() const { return anneal_strategy_; }
  bool cycle_momentum() const { return cycle_momentum_; }
  double base_momentum() const { return base_momentum_; }
  double max_momentum() const { return max_momentum_; }
  double div_factor() const { return div_factor_; }
  double final_div_factor() const { return final_div_factor_; }
  bool three_phase() const { return three_phase_; }

 private:
  double pct_start_ = 0.3;
  std::string anneal_strategy_ = "cos";
  bool cycle_momentum_ = true;
  double base_momentum_ = 0.85, max_momentum_ = 0.95;
  double div_factor_ = 25.0, final_div_factor_ = 1e4;
  bool three_phase_ = false;
};

// torch.optim.lr_scheduler.OneCycleLR (Smith & Topin), same defaults: the lr
// rises from max_lr / div_factor to max_lr over pct_start of total_steps and
// anneals to initial_lr / final_div_factor; with cycle_momentum the momentum
// (SGD) or beta1 (Adam/AdamW) moves the opposite way between max_momentum and
// base_momentum. Stepping past total_steps throws ValueError.
class OneCycleLR : public LRScheduler {
 public:
  OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, const OneCycleLROptions& options = {});
  OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, int64_t total_steps,
             const OneCycleLROptions& options = {});

 protected:
  std::vector<double> lr_at(int64_t epoch) const override;
  void on_step(int64_t epoch) override;

 private:
  enum class Lr { Initial, Max, Min };
  enum class Momentum { Base, Max };
  struct Phase {
    double end_step;
    Lr lr_start, lr_end;
    Momentum momentum_start, momentum_end;
  };
  double anneal(double start, double end, double pct) const;
  // The phase holding `epoch` and how far into it (0..1) the epoch is.
  std::pair<const Phase*, double> locate(int64_t epoch) const;
  double lr_value(Lr which, size_t group) const;
  double momentum_value(Momentum which) const;
  std::vector<Phase> phases_;
  std::vector<double> max_lrs_;
  int64_t total_steps_;
  OneCycleLROptions options_;
  std::string momentum_key_;  // "momentum" or "beta1"; empty without cycle_momentum
};

}  // namespace kiln::optim
