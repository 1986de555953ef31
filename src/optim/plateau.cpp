#include "kiln/optim/plateau.h"

#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>

#include "core/number_format.h"

namespace kiln::optim {

namespace {
const char* kName = "ReduceLROnPlateauScheduler";

const std::string& require(const SchedulerState& s, const std::string& key) {
  auto it = s.find(key);
  KILN_CHECK(it != s.end(), ValueError, kName, ".load_state_dict: the state has no \"", key, "\" entry");
  return it->second;
}
}  // namespace

ReduceLROnPlateauScheduler::ReduceLROnPlateauScheduler(Optimizer& optimizer, SchedulerMode mode, float factor,
                                                       int patience, double threshold, ThresholdMode threshold_mode,
                                                       int cooldown, const std::vector<float>& min_lr, double eps,
                                                       bool verbose)
    : optimizer_(optimizer),
      mode_(mode),
      factor_(factor),
      patience_(patience),
      threshold_(threshold),
      threshold_mode_(threshold_mode),
      cooldown_(cooldown),
      eps_(eps),
      verbose_(verbose) {
  KILN_CHECK(factor < 1.0f, ValueError, kName, ": factor must be < 1, got ", factor);
  KILN_CHECK(patience >= 0 && cooldown >= 0, ValueError, kName, ": patience and cooldown must be >= 0, got ", patience,
             " and ", cooldown);
  const size_t groups = optimizer_.param_groups().size();
  KILN_CHECK(min_lr.empty() || min_lr.size() == groups, ValueError, kName, ": ", min_lr.size(),
             " min_lr values for ", groups, " parameter groups");
  min_lrs_.assign(groups, 0.0);
  for (size_t i = 0; i < min_lr.size(); ++i) min_lrs_[i] = min_lr[i];
  best_ = mode_ == min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity();
}

bool ReduceLROnPlateauScheduler::is_better(double a) const {
  if (mode_ == min && threshold_mode_ == rel) return a < best_ * (1.0 - threshold_);
  if (mode_ == min) return a < best_ - threshold_;
  if (threshold_mode_ == rel) return a > best_ * (threshold_ + 1.0);
  return a > best_ + threshold_;
}

void ReduceLROnPlateauScheduler::step(float metric) {
  const double current = metric;
  ++last_epoch_;
  if (is_better(current)) {
    best_ = current;
    num_bad_epochs_ = 0;
  } else {
    ++num_bad_epochs_;
  }
  if (cooldown_counter_ > 0) {
    --cooldown_counter_;
    num_bad_epochs_ = 0;
  }
  if (num_bad_epochs_ > patience_) {
    reduce_lr();
    cooldown_counter_ = cooldown_;
    num_bad_epochs_ = 0;
  }
}

void ReduceLROnPlateauScheduler::reduce_lr() {
  auto& groups = optimizer_.param_groups();
  KILN_CHECK(groups.size() == min_lrs_.size(), ValueError, kName, ": the optimizer has ", groups.size(),
             " parameter groups but the scheduler was built for ", min_lrs_.size());
  for (size_t i = 0; i < groups.size(); ++i) {
    const double old_lr = groups[i].options().get_lr();
    const double new_lr = std::max(old_lr * factor_, min_lrs_[i]);
    if (old_lr - new_lr <= eps_) continue;
    groups[i].options().set_lr(new_lr);
    if (verbose_) std::cout << kName << ": epoch " << last_epoch_ << ": reducing the lr of group " << i << " to "
                            << new_lr << "\n";
  }
}

std::vector<double> ReduceLROnPlateauScheduler::get_last_lr() const {
  std::vector<double> out;
  for (const auto& g : optimizer_.param_groups()) out.push_back(g.options().get_lr());
  return out;
}

SchedulerState ReduceLROnPlateauScheduler::state_dict() const {
  using kiln::detail::format_double;
  return {{"scheduler", kName},
          {"mode", mode_ == min ? "min" : "max"},
          {"threshold_mode", threshold_mode_ == rel ? "rel" : "abs"},
          {"factor", format_double(factor_)},
          {"patience", std::to_string(patience_)},
          {"threshold", format_double(threshold_)},
          {"cooldown", std::to_string(cooldown_)},
          {"best", format_double(best_)},
          {"num_bad_epochs", std::to_string(num_bad_epochs_)},
          {"cooldown_counter", std::to_string(cooldown_counter_)},
          {"last_epoch", std::to_string(last_epoch_)}};
}

void ReduceLROnPlateauScheduler::load_state_dict(const SchedulerState& state) {
  using kiln::detail::parse_counter;
  const std::string who = std::string(kName) + ".load_state_dict";
  KILN_CHECK(require(state, "scheduler") == kName, ValueError, who, ": the state was saved by ",
             require(state, "scheduler"));
  KILN_CHECK(require(state, "mode") == (mode_ == min ? "min" : "max") &&
                 require(state, "threshold_mode") == (threshold_mode_ == rel ? "rel" : "abs"),
             ValueError, who, ": the state was saved with mode ", require(state, "mode"), "/",
             require(state, "threshold_mode"), ", this scheduler differs");
  const double best = kiln::detail::parse_double(require(state, "best"), "best");
  const int64_t bad = parse_counter(require(state, "num_bad_epochs"), who, "num_bad_epochs");
  const int64_t cool = parse_counter(require(state, "cooldown_counter"), who, "cooldown_counter");
  const int64_t epoch = parse_counter(require(state, "last_epoch"), who, "last_epoch");
  best_ = best;
  num_bad_epochs_ = bad;
  cooldown_counter_ = cool;
  last_epoch_ = epoch;
}

}  // namespace kiln::optim
