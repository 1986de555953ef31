// Dynamic loss scaling for float16 training, as PyTorch's torch.amp.GradScaler.
// f16 gradients of small losses underflow to zero; the scaler multiplies the
// loss by a large factor before backward(), divides the gradients by it
// before the optimizer sees them, and skips the steps whose gradients
// overflowed (inf/nan), lowering the factor. bf16 has f32's range and needs
// no scaler.
//
//   kiln::amp::GradScaler scaler;
//   for (...) {
//     optimizer.zero_grad();
//     {
//       kiln::amp::AutocastGuard autocast(kiln::kFloat16);
//       scaler.scale(loss_of(batch)).backward();
//     }
//     scaler.unscale_(optimizer);                       // only when clipping
//     kiln::optim::clip_grad_norm_(params, 1.0);
//     scaler.step(optimizer);                           // skipped on inf/nan
//     scaler.update();
//   }
//
// Per step the found-inf check is one fused reduction over all gradients of
// a device (kiln::multi_tensor_norm) and one device-to-host read.
#pragma once
#include <cstdint>
#include <map>
#include <string>

#include "kiln/core/tensor.h"
#include "kiln/optim/optimizer.h"

namespace kiln::amp {

// PyTorch's defaults.
class GradScalerOptions {
 public:
  GradScalerOptions& init_scale(double v) { init_scale_ = v; return *this; }
  GradScalerOptions& growth_factor(double v) { growth_factor_ = v; return *this; }
  GradScalerOptions& backoff_factor(double v) { backoff_factor_ = v; return *this; }
  GradScalerOptions& growth_interval(int64_t v) { growth_interval_ = v; return *this; }
  GradScalerOptions& enabled(bool v) { enabled_ = v; return *this; }
  double init_scale() const { return init_scale_; }
  double growth_factor() const { return growth_factor_; }
  double backoff_factor() const { return backoff_factor_; }
  int64_t growth_interval() const { return growth_interval_; }
  bool enabled() const { return enabled_; }

 private:
  double init_scale_ = 65536.0;  // 2^16
  double growth_factor_ = 2.0;
  double backoff_factor_ = 0.5;
  int64_t growth_interval_ = 2000;
  bool enabled_ = true;
};

class GradScaler {
 public:
  // Throws ValueError unless init_scale > 0, growth_factor > 1,
  // 0 < backoff_factor < 1 and growth_interval >= 1 (all finite).
  explicit GradScaler(const GradScalerOptions& options = GradScalerOptions());

  // loss * scale (the loss itself when disabled).
  Tensor scale(const Tensor& loss) const;
  // Divides every gradient of `optimizer`'s parameters by the scale, in
  // place, and records whether any holds inf or nan. Call it before
  // clipping or inspecting gradients; step() calls it otherwise. Once per
  // optimizer between update()s: a second call throws ValueError (the
  // gradients would be divided twice). Float16 gradients are refused
  // (DTypeError): keep parameters f32, autocast casts them.
  void unscale_(optim::Optimizer& optimizer);
  // Unscales if unscale_ was not called, then runs optimizer.step() unless
  // the gradients held inf/nan; returns whether the step ran. A second
  // step() of one optimizer before update() throws ValueError.
  bool step(optim::Optimizer& optimizer);
  // The new scale, once per iteration after step(): times backoff_factor
  // when any optimizer's gradients overflowed (and the growth count starts
  // over), else times growth_factor after growth_interval clean steps in a
  // row (unless that would overflow a double). Throws ValueError when no
  // optimizer was stepped since the last update().
  void update();
  // Sets the scale (> 0, finite) instead of computing it; resets the
  // growth count, as PyTorch's update(new_scale).
  void update(double new_scale);

  double get_scale() const { return enabled_ ? scale_ : 1.0; }
  double get_growth_factor() const { return growth_factor_; }
  double get_backoff_factor() const { return backoff_factor_; }
  int64_t get_growth_interval() const { return growth_interval_; }
  // Clean steps in a row since the scale last changed.
  int64_t growth_tracker() const { return growth_tracker_; }
  // Optimizer steps skipped for inf/nan gradients since construction (or as restored).
  int64_t skipped_steps() const { return skipped_steps_; }
  bool is_enabled() const { return enabled_; }

  // The state as checkpoint metadata (strings): "scale", "growth_factor",
  // "backoff_factor", "growth_interval", "growth_tracker", "skipped_steps",
  // each key preceded by `prefix`. Empty when disabled, as PyTorch's. In a
  // checkpoint: state.metadata (io::TrainingState) takes
  // scaler.state_dict("grad_scaler.") and load_state_dict(loaded.metadata,
  // "grad_scaler.") reads it back.
  std::map<std::string, std::string> state_dict(const std::string& prefix = "") const;
  // Restores what state_dict(prefix) wrote; keys without the prefix are
  // ignored. Every value is parsed and checked before any is set (ValueError
  // naming the key: a missing key, a scale that is not finite and > 0,
  // factors out of range, counters that are not whole numbers in [0, 2^53],
  // a growth count not below growth_interval), so a bad state changes
  // nothing. A disabled scaler ignores the call, as PyTorch's.
  void load_state_dict(const std::map<std::string, std::string>& state, const std::string& prefix = "");

 private:
  enum class Stage { Ready, Unscaled, Stepped };
  struct PerOptimizer {
    Stage stage = Stage::Ready;
    bool found_inf = false;
  };
  PerOptimizer& state_of(const optim::Optimizer& optimizer);

  double scale_;
  double growth_factor_, backoff_factor_;
  int64_t growth_interval_;
  bool enabled_;
  int64_t growth_tracker_ = 0;
  int64_t skipped_steps_ = 0;
  std::map<const optim::Optimizer*, PerOptimizer> per_optimizer_;  // cleared by update()
};

}  // namespace kiln::amp
