// GradScaler: the loss scale lives on the host (a double), so scale() and
// update() never touch the device; unscale_ divides the gradients in place
// and finds inf/nan with one multi_tensor_norm per device, read to the host
// in one copy.
#include "kiln/amp/grad_scaler.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "core/number_format.h"
#include "core/tensor_checks.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln::amp {

namespace {

constexpr const char* kLoadWho = "GradScaler::load_state_dict";

void check_scale(const char* who, double scale) {
  KILN_CHECK(std::isfinite(scale) && scale > 0, ValueError, who, ": the scale must be finite and > 0, got ", scale);
}
void check_growth_factor(const char* who, double v) {
  KILN_CHECK(std::isfinite(v) && v > 1, ValueError, who, ": growth_factor must be finite and > 1, got ", v);
}
void check_backoff_factor(const char* who, double v) {
  KILN_CHECK(v > 0 && v < 1, ValueError, who, ": backoff_factor must be in (0, 1), got ", v);
}
void check_growth_interval(const char* who, int64_t v) {
  KILN_CHECK(v >= 1, ValueError, who, ": growth_interval must be >= 1, got ", v);
}

// Whether any of `grads` holds inf or nan: one fused reduction per device
// and one read of its per-tensor counts.
bool any_nonfinite(const std::vector<Tensor>& grads) {
  std::vector<std::vector<Tensor>> by_device;
  for (const Tensor& g : grads) {
    auto it = std::find_if(by_device.begin(), by_device.end(),
                           [&](const std::vector<Tensor>& group) { return group[0].device() == g.device(); });
    if (it == by_device.end()) by_device.push_back({g});
    else it->push_back(g);
  }
  bool found = false;
  for (const auto& group : by_device) {
    const Tensor stats = multi_tensor_norm(group).to(Device(kCPU));  // [n, 2]: norm, non-finite count
    const double* p = stats.data_ptr<double>();
    for (size_t i = 0; i < group.size(); ++i) found = found || p[2 * i + 1] > 0;
  }
  return found;
}

}  // namespace

GradScaler::GradScaler(const GradScalerOptions& o)
    : scale_(o.init_scale()),
      growth_factor_(o.growth_factor()),
      backoff_factor_(o.backoff_factor()),
      growth_interval_(o.growth_interval()),
      enabled_(o.enabled()) {
  const char* who = "GradScaler";
  check_scale(who, scale_);
  check_growth_factor(who, growth_factor_);
  check_backoff_factor(who, backoff_factor_);
  check_growth_interval(who, growth_interval_);
}

GradScaler::PerOptimizer& GradScaler::state_of(const optim::Optimizer& optimizer) {
  return per_optimizer_[&optimizer];
}

Tensor GradScaler::scale(const Tensor& loss) const {
  kiln::detail::check_defined("GradScaler::scale", loss, "loss");
  if (!enabled_) return loss;
  kiln::detail::check_floating("GradScaler::scale", loss);
  // In f32 at least: 2^16 times an f16 loss overflows f16 (max 65504).
  const Tensor l = is_low_precision(loss.dtype()) ? loss.to(kFloat32) : loss;
  return l * scale_;
}

void GradScaler::unscale_(optim::Optimizer& optimizer) {
  if (!enabled_) return;
  PerOptimizer& st = state_of(optimizer);
  KILN_CHECK(st.stage != Stage::Unscaled, ValueError, "GradScaler::unscale_: already called for this ",
             optimizer.name(), " optimizer since the last update(); a second call would divide its gradients twice");
  KILN_CHECK(st.stage != Stage::Stepped, ValueError, "GradScaler::unscale_: called after step() for this ",
             optimizer.name(), " optimizer; call update() first");
  std::vector<Tensor> grads;
  size_t index = 0;
  for (const Tensor& p : optimizer.parameters()) {
    const Tensor g = p.grad();
    if (g.defined()) {
      KILN_CHECK(g.dtype() != kFloat16, DTypeError, "GradScaler::unscale_: the gradient of parameter ", index, " (",
                 kiln::detail::describe(g), ") is float16; keep parameters in float32 (autocast casts them)");
      if (g.numel() > 0) grads.push_back(g);
    }
    ++index;
  }
  NoGradGuard no_grad;
  const double inv_scale = 1.0 / scale_;
  for (Tensor& g : grads) g.mul_(inv_scale);
  st.found_inf = !grads.empty() && any_nonfinite(grads);
  st.stage = Stage::Unscaled;
}

bool GradScaler::step(optim::Optimizer& optimizer) {
  if (!enabled_) {
    optimizer.step();
    return true;
  }
  PerOptimizer& st = state_of(optimizer);
  KILN_CHECK(st.stage != Stage::Stepped, ValueError, "GradScaler::step: already called for this ",
             optimizer.name(), " optimizer since the last update()");
  if (st.stage == Stage::Ready) unscale_(optimizer);
  if (st.found_inf) {
    ++skipped_steps_;
    st.stage = Stage::Stepped;
    return false;
  }
  optimizer.step();
  st.stage = Stage::Stepped;
  return true;
}

void GradScaler::update() {
  if (!enabled_) return;
  bool checked = false, found_inf = false;
  for (const auto& [opt, st] : per_optimizer_) {
    if (st.stage == Stage::Ready) continue;
    checked = true;
    found_inf = found_inf || st.found_inf;
  }
  KILN_CHECK(checked, ValueError,
             "GradScaler::update: no gradients were checked since the last update(); call step(optimizer) first");
  if (found_inf) {
    scale_ *= backoff_factor_;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == growth_interval_) {
    const double grown = scale_ * growth_factor_;
    // The scale multiplies an f32 loss: one beyond f32's range makes every loss inf.
    if (std::isfinite(static_cast<float>(grown))) scale_ = grown;
    growth_tracker_ = 0;
  }
  per_optimizer_.clear();
}

void GradScaler::update(double new_scale) {
  if (!enabled_) return;
  check_scale("GradScaler::update", new_scale);
  scale_ = new_scale;
  per_optimizer_.clear();
}

std::map<std::string, std::string> GradScaler::state_dict(const std::string& prefix) const {
  if (!enabled_) return {};
  using kiln::detail::format_double;
  return {{prefix + "scale", format_double(scale_)},
          {prefix + "growth_factor", format_double(growth_factor_)},
          {prefix + "backoff_factor", format_double(backoff_factor_)},
          {prefix + "growth_interval", std::to_string(growth_interval_)},
          {prefix + "growth_tracker", std::to_string(growth_tracker_)},
          {prefix + "skipped_steps", std::to_string(skipped_steps_)}};
}

void GradScaler::load_state_dict(const std::map<std::string, std::string>& state, const std::string& prefix) {
  if (!enabled_) return;
  const auto first = state.lower_bound(prefix);
  KILN_CHECK(first != state.end() && first->first.compare(0, prefix.size(), prefix) == 0, ValueError, kLoadWho,
             ": the state has no \"", prefix, "...\" entries (a disabled GradScaler saves none)");
  auto get = [&](const char* key) -> const std::string& {
    auto it = state.find(prefix + key);
    KILN_CHECK(it != state.end(), ValueError, kLoadWho, ": the state has no \"", prefix, key, "\" entry");
    return it->second;
  };
  using kiln::detail::parse_counter;
  using kiln::detail::parse_double;
  const double scale = parse_double(get("scale"), prefix + "scale");
  const double growth = parse_double(get("growth_factor"), prefix + "growth_factor");
  const double backoff = parse_double(get("backoff_factor"), prefix + "backoff_factor");
  const int64_t interval = parse_counter(get("growth_interval"), kLoadWho, prefix + "growth_interval");
  const int64_t tracker = parse_counter(get("growth_tracker"), kLoadWho, prefix + "growth_tracker");
  const int64_t skipped = parse_counter(get("skipped_steps"), kLoadWho, prefix + "skipped_steps");
  check_scale(kLoadWho, scale);
  check_growth_factor(kLoadWho, growth);
  check_backoff_factor(kLoadWho, backoff);
  check_growth_interval(kLoadWho, interval);
  KILN_CHECK(tracker < interval, ValueError, kLoadWho, ": \"", prefix, "growth_tracker\" ", tracker,
             " must be below growth_interval ", interval);
  scale_ = scale;
  growth_factor_ = growth;
  backoff_factor_ = backoff;
  growth_interval_ = interval;
  growth_tracker_ = tracker;
  skipped_steps_ = skipped;
}

}  // namespace kiln::amp
