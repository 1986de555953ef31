// HealthGuard: watches every training step's loss and global gradient norm
// and acts before a bad step does harm. Long runs die of NaN losses, loss
// spikes and exploding gradients; this is the guard people otherwise write
// by hand (or lose the run).
//
//   train::HealthGuard guard({&model, &opt, &schedule, &loader},
//                            train::HealthGuardOptions().policy(train::GuardPolicy::Rollback));
//   for (auto& batch : loader) {
//     guard.begin_step(step);                      // snapshot when due; keeps BatchNorm buffers
//     Tensor loss = cross_entropy(model(batch.data), batch.target);
//     opt.zero_grad();
//     loss.backward();
//     const train::StepHealth h = guard.measure(loss);  // the one host read: loss and norms together
//     switch (guard.decide(h)) {
//       case train::Action::Proceed: opt.step(); schedule.step(); ++step; break;
//       case train::Action::Skip: schedule.step(); ++step; break;   // no update, buffers put back
//       case train::Action::Rollback: step = guard.resume_step(); goto restart;  // loader is there
//       case train::Action::Stop: std::cerr << guard.report(); return 1;
//     }
//   }
//
// Policy (every action is an event: events(), and a line on options.log):
//   - skip the step when the loss or any gradient element is NaN/inf;
//   - skip it when the loss or the gradient norm is an outlier: z-score
//     above a threshold over a running window of accepted steps (llm.c's
//     outlier detector);
//   - Rollback policy: after `trouble_limit` skipped steps within
//     `trouble_window` steps, restore the last good snapshot (model,
//     optimizer, schedule, RNG, data position: exactly), multiply the
//     learning rate by `lr_factor` and continue; after `max_rollbacks`
//     rollbacks, stop. Skip policy: stop after `max_consecutive_skips`.
//   - A snapshot is taken every `snapshot_every` steps and becomes the good
//     one only after the `confirm_steps` steps after it were all accepted,
//     so damage that shows a few steps late (a learning-rate spike) is never
//     kept. The good one is kept in memory and, with checkpoint_path, on
//     disk (io::save_checkpoint, atomic).
//
// Data parallel: give `reduce` (sum over ranks) and `agree` (max over
// ranks) from kiln::dist; then every rank sees the same loss and norm and
// all take the same action in the same step.
#pragma once
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

#include "kiln/core/tensor.h"
#include "kiln/io/checkpoint.h"
#include "kiln/train/outlier_detector.h"
#include "kiln/train/snapshot.h"

namespace kiln::train {

enum class GuardPolicy { Off, Skip, Rollback };
// "off", "skip", "rollback" (ValueError otherwise).
GuardPolicy guard_policy_from_string(const std::string& name);
const char* guard_policy_name(GuardPolicy policy);

class HealthGuardOptions {
 public:
  HealthGuardOptions& policy(GuardPolicy v) { policy_ = v; return *this; }
  // Accepted steps the z-scores are computed over; no outlier is called before it is full.
  HealthGuardOptions& window(int64_t v) { window_ = v; return *this; }
  // Skip when (x - mean) / std of the window exceeds these (one-sided: only rises are trouble).
  // With log_space (the default) x is log(loss) and log(grad norm); set it
  // off for a loss that can be zero or negative.
  HealthGuardOptions& loss_z(double v) { loss_z_ = v; return *this; }
  HealthGuardOptions& grad_z(double v) { grad_z_ = v; return *this; }
  HealthGuardOptions& log_space(bool v) { log_space_ = v; return *this; }
  HealthGuardOptions& trouble_window(int64_t v) { trouble_window_ = v; return *this; }
  HealthGuardOptions& trouble_limit(int64_t v) { trouble_limit_ = v; return *this; }
  HealthGuardOptions& lr_factor(double v) { lr_factor_ = v; return *this; }
  HealthGuardOptions& max_rollbacks(int64_t v) { max_rollbacks_ = v; return *this; }
  HealthGuardOptions& max_consecutive_skips(int64_t v) { max_consecutive_skips_ = v; return *this; }
  HealthGuardOptions& snapshot_every(int64_t v) { snapshot_every_ = v; return *this; }
  HealthGuardOptions& confirm_steps(int64_t v) { confirm_steps_ = v; return *this; }
  // Where the good snapshot is also written (empty: memory only).
  HealthGuardOptions& checkpoint_path(std::string v) { checkpoint_path_ = std::move(v); return *this; }
  // Whether this process writes checkpoint_path (rank 0 under data parallelism).
  HealthGuardOptions& writes_checkpoint(bool v) { writes_checkpoint_ = v; return *this; }
  // A line per action (nullptr: none).
  HealthGuardOptions& log(std::ostream* v) { log_ = v; return *this; }
  // Sums a few doubles over the data-parallel ranks (identity when unset).
  HealthGuardOptions& reduce(std::function<std::vector<double>(const std::vector<double>&)> v) {
    reduce_ = std::move(v);
    return *this;
  }
  // The largest of a double over the ranks: makes every rank take the most
  // drastic action any rank chose (identity when unset).
  HealthGuardOptions& agree(std::function<double(double)> v) { agree_ = std::move(v); return *this; }
  HealthGuardOptions& world_size(int64_t v) { world_size_ = v; return *this; }

  GuardPolicy policy() const { return policy_; }
  int64_t window() const { return window_; }
  double loss_z() const { return loss_z_; }
  double grad_z() const { return grad_z_; }
  bool log_space() const { return log_space_; }
  int64_t trouble_window() const { return trouble_window_; }
  int64_t trouble_limit() const { return trouble_limit_; }
  double lr_factor() const { return lr_factor_; }
  int64_t max_rollbacks() const { return max_rollbacks_; }
  int64_t max_consecutive_skips() const { return max_consecutive_skips_; }
  int64_t snapshot_every() const { return snapshot_every_; }
  int64_t confirm_steps() const { return confirm_steps_; }
  const std::string& checkpoint_path() const { return checkpoint_path_; }
  bool writes_checkpoint() const { return writes_checkpoint_; }
  std::ostream* log() const { return log_; }
  const std::function<std::vector<double>(const std::vector<double>&)>& reduce() const { return reduce_; }
  const std::function<double(double)>& agree() const { return agree_; }
  int64_t world_size() const { return world_size_; }

 private:
  GuardPolicy policy_ = GuardPolicy::Rollback;
  int64_t window_ = 100;
  double loss_z_ = 5.0, grad_z_ = 5.0;
  bool log_space_ = true;
  int64_t trouble_window_ = 20, trouble_limit_ = 3;
  double lr_factor_ = 0.5;
  int64_t max_rollbacks_ = 3;
  int64_t max_consecutive_skips_ = 50;
  int64_t snapshot_every_ = 100, confirm_steps_ = 20;
  std::string checkpoint_path_;
  bool writes_checkpoint_ = true;
  std::ostream* log_ = nullptr;
  std::function<std::vector<double>(const std::vector<double>&)> reduce_;
  std::function<double(double)> agree_;
  int64_t world_size_ = 1;
};

// One step as measure() saw it.
struct StepHealth {
  double loss = 0;       // the mean over ranks with `reduce`
  double grad_norm = 0;  // L2 norm of every finite gradient element taken as one vector
  int64_t nonfinite = 0;  // NaN/inf gradient elements (all ranks)
  // This rank's parameters with NaN/inf gradients, and the one with the largest gradient norm.
  std::vector<std::string> nonfinite_params;
  std::string largest_param;
  double largest_norm = 0;
};

// Ordered by severity: `agree` takes the largest over ranks.
enum class Action { Proceed = 0, Skip = 1, Rollback = 2, Stop = 3 };
const char* action_name(Action a);

// What the guard did, where, and why.
struct GuardEvent {
  std::string kind;  // "skip", "rollback", "stop", "checkpoint"
  int64_t step = 0;
  int64_t epoch = 0, batch = 0;  // the loader position of the step's batch
  double loss = 0, grad_norm = 0, loss_z = 0, grad_z = 0;
  double lr_scale = 1;  // the lr multiplier in force after the event
  std::string reason;
};

class HealthGuard {
 public:
  HealthGuard(RunParts run, HealthGuardOptions options = {});

  // Before the forward pass of step `step`, with the step's batch in hand:
  // takes a snapshot when one is due, promotes the last one when it has
  // been confirmed, and copies the model's buffers (BatchNorm running
  // statistics) so that a skipped step leaves no trace in them.
  void begin_step(int64_t step);
  // After backward: the loss and every parameter gradient's norm and
  // NaN/inf count, computed on the device in one fused reduction
  // (kiln::multi_tensor_norm) and read to the host in one copy with the loss.
  StepHealth measure(const Tensor& loss);
  // The action for the step measured last. Skip has put the buffers back;
  // Rollback has restored the good snapshot and lowered the lr (continue
  // from resume_step(), the loader stands at its batch); Stop: see report()
  // (under the rollback policy the run is put back to the good snapshot
  // first, so what the trainer evaluates or saves is the last good state).
  Action decide(const StepHealth& health);
  // Restores the good snapshot now, lowering the lr as a rollback does.
  void rollback(const std::string& reason);

  int64_t resume_step() const { return resume_step_; }
  // The z-scores of the step decided last (0 while the windows fill).
  double last_loss_z() const { return last_loss_z_; }
  double last_grad_z() const { return last_grad_z_; }
  double lr_scale() const { return lr_scale_; }
  int64_t rollbacks() const { return rollbacks_; }
  const std::vector<GuardEvent>& events() const { return events_; }
  // Why the guard stopped the run (empty while it has not): the step, the
  // batch, what was seen, and the actions that led there.
  const std::string& report() const { return report_; }
  const HealthGuardOptions& options() const { return options_; }
  // The step of the good snapshot (-1 before the first begin_step).
  int64_t good_step() const { return good_ ? good_->step : -1; }

 private:
  void record(GuardEvent e);
  void promote_candidate();
  void rollback_with(const StepHealth* h, double lz, double gz, const std::string& reason);
  void stop(const StepHealth& h, double lz, double gz, const std::string& why);
  GuardEvent event_here(const std::string& kind, const StepHealth* h, double lz, double gz,
                        const std::string& reason) const;

  RunParts run_;
  HealthGuardOptions options_;
  OutlierDetector loss_window_, grad_window_;
  std::optional<io::TrainingState> good_, candidate_;
  double candidate_lr_scale_ = 1, good_lr_scale_ = 1;
  int64_t candidate_accepted_ = 0;
  std::vector<Tensor> saved_buffers_;
  std::vector<int64_t> trouble_steps_;
  int64_t consecutive_skips_ = 0;
  int64_t step_ = 0, resume_step_ = 0, rollbacks_ = 0;
  data::LoaderState position_;
  int64_t last_snapshot_step_ = -1;
  double lr_scale_ = 1;
  double last_loss_z_ = 0, last_grad_z_ = 0;
  std::vector<GuardEvent> events_;
  std::string report_;
};

}  // namespace kiln::train
