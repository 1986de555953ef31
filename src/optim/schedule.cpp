// Learning-rate schedules: closed-form lr per step, applied to the optimizer's groups.
#include "kiln/optim/schedule.h"

#include <algorithm>
#include <cmath>

#include "core/number_format.h"

namespace kiln::optim {

namespace {
constexpr double kPi = 3.14159265358979323846;

std::string join_doubles(const std::vector<double>& v) {
  std::string s;
  for (size_t i = 0; i < v.size(); ++i) s += (i ? "," : "") + kiln::detail::format_double(v[i]);
  return s;
}

std::vector<double> split_doubles(const std::string& text, const std::string& what) {
  std::vector<double> out;
  if (text.empty()) return out;
  size_t start = 0;
  while (true) {
    size_t comma = text.find(',', start);
    out.push_back(kiln::detail::parse_double(text.substr(start, comma - start), what));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}
}  // namespace

// --- LRScheduler --------------------------------------------------------------------

LRScheduler::LRScheduler(std::string name, Optimizer& optimizer) : optimizer_(optimizer), name_(std::move(name)) {
  for (const auto& g : optimizer_.param_groups()) base_lrs_.push_back(g.options().get_lr());
}

void LRScheduler::initial_step() { apply(0); }

void LRScheduler::step() { apply(last_epoch_ + 1); }

void LRScheduler::apply(int64_t epoch) {
  std::vector<double> lrs = lr_at(epoch);
  auto& groups = optimizer_.param_groups();
  KILN_CHECK(lrs.size() == groups.size(), ValueError, name_, ": the optimizer has ", groups.size(),
             " parameter groups but the schedule was built for ", lrs.size());
  on_step(epoch);
  for (size_t i = 0; i < groups.size(); ++i) groups[i].options().set_lr(lrs[i]);
  last_epoch_ = epoch;
  last_lr_ = std::move(lrs);
}

SchedulerState LRScheduler::state_dict() const {
  return {{"scheduler", name_},
          {"last_epoch", std::to_string(last_epoch_)},
          {"base_lrs", join_doubles(base_lrs_)},
          {"last_lr", join_doubles(last_lr_)}};
}

void LRScheduler::load_state_dict(const SchedulerState& state) {
  auto get = [&](const char* key) -> const std::string& {
    auto it = state.find(key);
    KILN_CHECK(it != state.end(), ValueError, name_, ".load_state_dict: the state has no \"", key, "\" entry");
    return it->second;
  };
  KILN_CHECK(get("scheduler") == name_, ValueError, name_, ".load_state_dict: the state was saved by ",
             get("scheduler"));
  const int64_t epoch = kiln::detail::parse_counter(get("last_epoch"), name_ + ".load_state_dict", "last_epoch");
  std::vector<double> base = split_doubles(get("base_lrs"), "base_lrs");
  std::vector<double> last = split_doubles(get("last_lr"), "last_lr");
  KILN_CHECK(base.size() == base_lrs_.size() && last.size() == base_lrs_.size(), ValueError, name_,
             ".load_state_dict: the state is for ", base.size(), " parameter groups, this schedule has ",
             base_lrs_.size());
  last_epoch_ = epoch;
  base_lrs_ = std::move(base);
  last_lr_ = std::move(last);
}

// --- StepLR, MultiStepLR, ExponentialLR -----------------------------------------------

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler("StepLR", optimizer), step_size_(step_size), gamma_(gamma) {
  KILN_CHECK(step_size > 0, ValueError, "StepLR: step_size must be positive, got ", step_size);
  initial_step();
}

std::vector<double> StepLR::lr_at(int64_t epoch) const {
  std::vector<double> out;
  for (double base : base_lrs_) out.push_back(base * std::pow(gamma_, static_cast<double>(epoch / step_size_)));
  return out;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, std::vector<int64_t> milestones, double gamma)
    : LRScheduler("MultiStepLR", optimizer), milestones_(std::move(milestones)), gamma_(gamma) {
  std::sort(milestones_.begin(), milestones_.end());
  initial_step();
}

std::vector<double> MultiStepLR::lr_at(int64_t epoch) const {
  const auto passed = std::upper_bound(milestones_.begin(), milestones_.end(), epoch) - milestones_.begin();
  std::vector<double> out;
  for (double base : base_lrs_) out.push_back(base * std::pow(gamma_, static_cast<double>(passed)));
  return out;
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, double gamma) : LRScheduler("ExponentialLR", optimizer), gamma_(gamma) {
  initial_step();
}

std::vector<double> ExponentialLR::lr_at(int64_t epoch) const {
  std::vector<double> out;
  for (double base : base_lrs_) out.push_back(base * std::pow(gamma_, static_cast<double>(epoch)));
  return out;
}

// --- CosineAnnealingLR -------------------------------------------------------------------

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t T_max, double eta_min, int64_t warmup_steps,
                                     double warmup_start_factor)
    : LRScheduler("CosineAnnealingLR", optimizer),
      t_max_(T_max),
      eta_min_(eta_min),
      warmup_steps_(warmup_steps),
      warmup_start_factor_(warmup_start_factor) {
  KILN_CHECK(T_max > 0, ValueError, "CosineAnnealingLR: T_max must be positive, got ", T_max);
  KILN_CHECK(warmup_steps >= 0, ValueError, "CosineAnnealingLR: warmup_steps must be >= 0, got ", warmup_steps);
  KILN_CHECK(warmup_start_factor > 0 && warmup_start_factor <= 1, ValueError,
             "CosineAnnealingLR: warmup_start_factor must be in (0, 1], got ", warmup_start_factor);
  initial_step();
}

std::vector<double> CosineAnnealingLR::lr_at(int64_t epoch) const {
  std::vector<double> out;
  for (double base : base_lrs_) {
    if (epoch < warmup_steps_) {
      const double f = warmup_start_factor_ + (1.0 - warmup_start_factor_) * static_cast<double>(epoch) /
                                                  static_cast<double>(warmup_steps_);
      out.push_back(base * f);
    } else {
      const double t = static_cast<double>(std::min(epoch - warmup_steps_, t_max_));
      out.push_back(eta_min_ + (base - eta_min_) * (1.0 + std::cos(kPi * t / static_cast<double>(t_max_))) / 2.0);
    }
  }
  return out;
}

// --- OneCycleLR -----------------------------------------------------------------------------

OneCycleLR::OneCycleLR(Optimizer& optimizer, double max_lr, int64_t total_steps, const OneCycleLROptions& options)
    : OneCycleLR(optimizer, std::vector<double>(optimizer.param_groups().size(), max_lr), total_steps, options) {}

OneCycleLR::OneCycleLR(Optimizer& optimizer, std::vector<double> max_lrs, int64_t total_steps,
                       const OneCycleLROptions& options)
    : LRScheduler("OneCycleLR", optimizer), max_lrs_(std::move(max_lrs)), total_steps_(total_steps), options_(options) {
  const size_t n = optimizer_.param_groups().size();
  KILN_CHECK(max_lrs_.size() == n, ValueError, "OneCycleLR: got ", max_lrs_.size(), " max_lr values for ", n,
             " parameter groups");
  KILN_CHECK(total_steps > 0, ValueError, "OneCycleLR: total_steps must be positive, got ", total_steps);
  KILN_CHECK(options.pct_start() >= 0 && options.pct_start() <= 1, ValueError,
             "OneCycleLR: pct_start must be in [0, 1], got ", options.pct_start());
  KILN_CHECK(options.anneal_strategy() == "cos" || options.anneal_strategy() == "linear", ValueError,
             "OneCycleLR: anneal_strategy must be \"cos\" or \"linear\", got \"", options.anneal_strategy(), "\"");
  const double total = static_cast<double>(total_steps), pct = options.pct_start();
  if (options.three_phase()) {
    phases_ = {{pct * total - 1, Lr::Initial, Lr::Max, Momentum::Max, Momentum::Base},
               {2 * pct * total - 2, Lr::Max, Lr::Initial, Momentum::Base, Momentum::Max},
               {total - 1, Lr::Initial, Lr::Min, Momentum::Max, Momentum::Max}};
  } else {
    phases_ = {{pct * total - 1, Lr::Initial, Lr::Max, Momentum::Max, Momentum::Base},
               {total - 1, Lr::Max, Lr::Min, Momentum::Base, Momentum::Max}};
  }
  for (size_t g = 0; g < n; ++g) base_lrs_[g] = lr_value(Lr::Initial, g);
  if (options.cycle_momentum()) {
    const auto hyper = optimizer_.defaults().to_map();
    if (hyper.count("beta1")) {
      momentum_key_ = "beta1";
    } else if (hyper.count("momentum")) {
      momentum_key_ = "momentum";
    } else {
      KILN_CHECK(false, ValueError, "OneCycleLR: cycle_momentum needs an optimizer with momentum or betas; ",
                 optimizer_.name(), " has neither (pass cycle_momentum(false))");
    }
  }
  initial_step();
}

double OneCycleLR::lr_value(Lr which, size_t group) const {
  const double initial = max_lrs_[group] / options_.div_factor();
  switch (which) {
    case Lr::Initial: return initial;
    case Lr::Max: return max_lrs_[group];
    case Lr::Min: return initial / options_.final_div_factor();
  }
  return initial;
}

double OneCycleLR::momentum_value(Momentum which) const {
  return which == Momentum::Base ? options_.base_momentum() : options_.max_momentum();
}

double OneCycleLR::anneal(double start, double end, double pct) const {
  if (options_.anneal_strategy() == "cos") return end + (start - end) / 2.0 * (std::cos(kPi * pct) + 1.0);
  return (end - start) * pct + start;
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::locate(int64_t epoch) const {
  KILN_CHECK(epoch <= total_steps_, ValueError, "OneCycleLR: tried to step ", epoch,
             " times; the specified number of total steps is ", total_steps_);
  const double step = static_cast<double>(epoch);
  double start = 0;
  for (size_t i = 0; i < phases_.size(); ++i) {
    const Phase& p = phases_[i];
    if (step <= p.end_step || i + 1 == phases_.size()) return {&p, (step - start) / (p.end_step - start)};
    start = p.end_step;
  }
  return {&phases_.back(), 1.0};
}

std::vector<double> OneCycleLR::lr_at(int64_t epoch) const {
  auto [phase, pct] = locate(epoch);
  std::vector<double> out;
  for (size_t g = 0; g < max_lrs_.size(); ++g)
    out.push_back(anneal(lr_value(phase->lr_start, g), lr_value(phase->lr_end, g), pct));
  return out;
}

void OneCycleLR::on_step(int64_t epoch) {
  if (momentum_key_.empty()) return;
  auto [phase, pct] = locate(epoch);
  const double m = anneal(momentum_value(phase->momentum_start), momentum_value(phase->momentum_end), pct);
  for (auto& g : optimizer_.param_groups()) g.options().from_map({{momentum_key_, m}});
}

}  // namespace kiln::optim
