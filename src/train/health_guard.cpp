// HealthGuard: per-step health measurement, the skip / rollback / stop
// policy, and the snapshots it rolls back to (see the header).
#include "kiln/train/health_guard.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <ostream>
#include <sstream>

#include "core/number_format.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/reduce.h"

namespace kiln::train {

namespace {

constexpr const char* kLrScaleKey = "guard.lr_scale";

// The position of the batch the caller holds: the loader already points past it.
data::LoaderState batch_in_hand(const data::DataLoader& loader) {
  data::LoaderState s = loader.state();
  if (s.batch > 0) return {s.epoch, s.batch - 1};
  if (s.epoch > 0) return {s.epoch - 1, loader.size() - 1};
  return s;  // nothing delivered yet
}

// Multiplies the lr of every group, and the schedule's base lrs so the
// schedule keeps the lower lr from here on. Goes through the schedule's
// state so that any LRScheduler works.
void scale_lr(const RunParts& run, double factor) {
  if (factor == 1.0) return;
  for (auto& g : run.optimizer->param_groups()) g.options().set_lr(g.options().get_lr() * factor);
  if (run.scheduler == nullptr) return;
  optim::SchedulerState st = run.scheduler->state_dict();
  auto scale_list = [&](const std::string& key) {
    std::string out;
    std::stringstream in(st.at(key));
    std::string item;
    while (std::getline(in, item, ','))
      out += (out.empty() ? "" : ",") + detail::format_double(detail::parse_double(item, key) * factor);
    st[key] = out;
  };
  scale_list("base_lrs");
  scale_list("last_lr");
  run.scheduler->load_state_dict(st);
}

std::string fmt(double v) {
  std::ostringstream os;
  os << std::setprecision(5) << v;
  return os.str();
}

}  // namespace

GuardPolicy guard_policy_from_string(const std::string& name) {
  if (name == "off") return GuardPolicy::Off;
  if (name == "skip") return GuardPolicy::Skip;
  if (name == "rollback") return GuardPolicy::Rollback;
  throw ValueError("HealthGuard: the policy must be off, skip or rollback, got '" + name + "'");
}

const char* guard_policy_name(GuardPolicy p) {
  switch (p) {
    case GuardPolicy::Off: return "off";
    case GuardPolicy::Skip: return "skip";
    case GuardPolicy::Rollback: return "rollback";
  }
  return "?";
}

const char* action_name(Action a) {
  switch (a) {
    case Action::Proceed: return "proceed";
    case Action::Skip: return "skip";
    case Action::Rollback: return "rollback";
    case Action::Stop: return "stop";
  }
  return "?";
}

HealthGuard::HealthGuard(RunParts run, HealthGuardOptions options)
    : run_(run),
      options_(std::move(options)),
      loss_window_(options_.window(), options_.log_space()),
      grad_window_(options_.window(), options_.log_space()) {
  KILN_CHECK(run_.model != nullptr && run_.optimizer != nullptr && run_.loader != nullptr, ValueError,
             "HealthGuard: needs the model, the optimizer and the data loader (the scheduler may be null)");
  KILN_CHECK(options_.lr_factor() > 0 && options_.lr_factor() <= 1, ValueError,
             "HealthGuard: lr_factor must be in (0, 1], got ", options_.lr_factor());
  KILN_CHECK(options_.snapshot_every() >= 1 && options_.confirm_steps() >= 0 && options_.trouble_window() >= 1 &&
                 options_.trouble_limit() >= 1 && options_.max_consecutive_skips() >= 1 &&
                 options_.max_rollbacks() >= 0 && options_.world_size() >= 1,
             ValueError, "HealthGuard: snapshot_every, trouble_window, trouble_limit, max_consecutive_skips and "
             "world_size must be >= 1, confirm_steps and max_rollbacks >= 0");
}

void HealthGuard::begin_step(int64_t step) {
  step_ = step;
  position_ = batch_in_hand(*run_.loader);
  if (options_.policy() == GuardPolicy::Off) return;
  NoGradGuard no_grad;
  if (candidate_ && candidate_accepted_ >= options_.confirm_steps()) promote_candidate();
  if (options_.policy() == GuardPolicy::Rollback) {
    if (!good_) {
      // The state a run starts (or resumes) from is the best there is.
      good_ = take_snapshot(run_, step, position_);
      good_->metadata[kLrScaleKey] = detail::format_double(lr_scale_);
      good_lr_scale_ = lr_scale_;
      last_snapshot_step_ = step;
    } else if (!candidate_ && step - last_snapshot_step_ >= options_.snapshot_every()) {
      candidate_ = take_snapshot(run_, step, position_);
      candidate_lr_scale_ = lr_scale_;
      candidate_accepted_ = 0;
      last_snapshot_step_ = step;
    }
  }
  saved_buffers_.clear();
  for (const Tensor& b : run_.model->buffers()) saved_buffers_.push_back(b.detach().clone());
}

void HealthGuard::promote_candidate() {
  good_ = std::move(candidate_);
  candidate_.reset();
  good_lr_scale_ = candidate_lr_scale_;
  good_->metadata[kLrScaleKey] = detail::format_double(good_lr_scale_);
  std::string where = "memory";
  if (!options_.checkpoint_path().empty()) {
    if (options_.writes_checkpoint()) io::save_checkpoint(options_.checkpoint_path(), *good_);
    where += " and " + options_.checkpoint_path();
  }
  GuardEvent e;
  e.kind = "checkpoint";
  e.step = good_->step;
  e.epoch = good_->epoch;
  e.batch = loader_position(*good_).batch;
  e.lr_scale = lr_scale_;
  e.reason = "the state before step " + std::to_string(good_->step) + " is the good one (" +
             std::to_string(options_.confirm_steps()) + " healthy steps after it), kept in " + where;
  record(std::move(e));
}

StepHealth HealthGuard::measure(const Tensor& loss) {
  KILN_CHECK(loss.defined() && loss.numel() == 1, ValueError, "HealthGuard::measure: the loss must be one value, got ",
             loss.defined() ? loss.numel() : 0, " elements");
  NoGradGuard no_grad;
  std::vector<std::string> names;
  std::vector<Tensor> grads;
  for (const auto& [name, p] : run_.model->named_parameters()) {
    if (!p.grad().defined()) continue;
    names.push_back(name);
    grads.push_back(p.grad());
  }
  // One device tensor [loss, norm_0, count_0, norm_1, ...] and one copy to the host.
  std::vector<Tensor> parts = {loss.detach().reshape({1}).to(kFloat64)};
  if (!grads.empty()) parts.push_back(multi_tensor_norm(grads).reshape({-1}));
  const std::vector<double> v = cat(parts, 0).cpu().to_vector<double>();
  StepHealth h;
  h.loss = v[0];
  double sum_sq = 0, bad = 0;
  for (size_t i = 0; i < names.size(); ++i) {
    const double norm = v[1 + 2 * i], count = v[2 + 2 * i];
    sum_sq += norm * norm;
    bad += count;
    if (count > 0) h.nonfinite_params.push_back(names[i]);
    if (norm > h.largest_norm || h.largest_param.empty()) {
      h.largest_norm = norm;
      h.largest_param = names[i];
    }
  }
  if (options_.reduce()) {
    const std::vector<double> r = options_.reduce()({h.loss, sum_sq, bad});
    const double n = static_cast<double>(options_.world_size());
    h.loss = r[0] / n;
    sum_sq = r[1] / n;  // under DDP every rank holds the same averaged gradients
    bad = r[2];
  }
  h.grad_norm = std::sqrt(sum_sq);
  h.nonfinite = static_cast<int64_t>(bad);
  return h;
}

GuardEvent HealthGuard::event_here(const std::string& kind, const StepHealth* h, double lz, double gz,
                                   const std::string& reason) const {
  GuardEvent e;
  e.kind = kind;
  e.step = step_;
  e.epoch = position_.epoch;
  e.batch = position_.batch;
  if (h) {
    e.loss = h->loss;
    e.grad_norm = h->grad_norm;
  }
  e.loss_z = lz;
  e.grad_z = gz;
  e.lr_scale = lr_scale_;
  e.reason = reason;
  return e;
}

Action HealthGuard::decide(const StepHealth& h) {
  if (options_.policy() == GuardPolicy::Off) return Action::Proceed;
  const double lz = loss_window_.z_score(h.loss), gz = grad_window_.z_score(h.grad_norm);
  last_loss_z_ = lz;
  last_grad_z_ = gz;
  std::string why;
  if (!std::isfinite(h.loss)) {
    why = "the loss is " + fmt(h.loss);
  } else if (h.nonfinite > 0) {
    why = std::to_string(h.nonfinite) + " gradient elements are NaN or infinite";
    if (!h.nonfinite_params.empty()) {
      why += " (in " + h.nonfinite_params[0];
      if (h.nonfinite_params.size() > 1) why += " and " + std::to_string(h.nonfinite_params.size() - 1) + " more";
      why += ")";
    }
  } else if (lz > options_.loss_z()) {
    why = "the loss " + fmt(h.loss) + " is an outlier (z = " + fmt(lz) + (options_.log_space() ? " of its log" : "") + " over the last " +
          std::to_string(loss_window_.size()) + " steps)";
  } else if (gz > options_.grad_z()) {
    why = "the gradient norm " + fmt(h.grad_norm) + " is an outlier (z = " + fmt(gz) + ", largest in " +
          h.largest_param + ")";
  }

  // The action this rank proposes, then the one all ranks take. The trouble
  // count is updated after agreeing, so it stays the same on every rank.
  while (!trouble_steps_.empty() && trouble_steps_.front() <= step_ - options_.trouble_window())
    trouble_steps_.erase(trouble_steps_.begin());
  Action proposal = Action::Proceed;
  if (!why.empty()) {
    const int64_t troubled = static_cast<int64_t>(trouble_steps_.size()) + 1;  // with this step
    proposal = Action::Skip;
    if (options_.policy() == GuardPolicy::Rollback && troubled >= options_.trouble_limit())
      proposal = rollbacks_ >= options_.max_rollbacks() ? Action::Stop : Action::Rollback;
    if (options_.policy() == GuardPolicy::Skip && consecutive_skips_ + 1 >= options_.max_consecutive_skips())
      proposal = Action::Stop;
  }
  Action action = proposal;
  if (options_.agree()) action = static_cast<Action>(static_cast<int>(options_.agree()(static_cast<double>(proposal))));
  if (action != Action::Proceed) trouble_steps_.push_back(step_);
  if (why.empty() && action != Action::Proceed) why = "another rank chose to " + std::string(action_name(action));

  switch (action) {
    case Action::Proceed:
      consecutive_skips_ = 0;
      loss_window_.push(h.loss);
      grad_window_.push(h.grad_norm);
      if (candidate_) ++candidate_accepted_;
      return action;
    case Action::Skip: {
      ++consecutive_skips_;
      candidate_.reset();  // its confirmation failed
      NoGradGuard no_grad;
      const std::vector<Tensor> buffers = run_.model->buffers();
      for (size_t i = 0; i < buffers.size() && i < saved_buffers_.size(); ++i) {
        Tensor b = buffers[i];
        b.copy_(saved_buffers_[i]);
      }
      run_.model->zero_grad();
      record(event_here("skip", &h, lz, gz, why + "; the step is skipped"));
      return action;
    }
    case Action::Rollback:
      rollback_with(&h, lz, gz,
                    why + "; " + std::to_string(trouble_steps_.size()) + " troubled steps within the last " +
                        std::to_string(options_.trouble_window()));
      return action;
    case Action::Stop:
      stop(h, lz, gz, why);
      return action;
  }
  return action;
}

void HealthGuard::rollback(const std::string& reason) { rollback_with(nullptr, 0, 0, reason); }

void HealthGuard::rollback_with(const StepHealth* h, double lz, double gz, const std::string& reason) {
  KILN_CHECK(good_.has_value(), ValueError, "HealthGuard::rollback: there is no snapshot yet (call begin_step first)");
  NoGradGuard no_grad;
  ++rollbacks_;
  lr_scale_ *= options_.lr_factor();
  restore_snapshot(run_, *good_);
  scale_lr(run_, lr_scale_ / good_lr_scale_);
  candidate_.reset();
  trouble_steps_.clear();
  consecutive_skips_ = 0;
  resume_step_ = good_->step;
  last_snapshot_step_ = good_->step;
  record(event_here("rollback", h, lz, gz,
                    reason + ": restored the state before step " + std::to_string(good_->step) + " (epoch " +
                        std::to_string(good_->epoch) + ", batch " + std::to_string(loader_position(*good_).batch) +
                        "), learning rate x" + fmt(lr_scale_) + " (rollback " + std::to_string(rollbacks_) +
                        " of at most " + std::to_string(options_.max_rollbacks()) + ")"));
}

void HealthGuard::stop(const StepHealth& h, double lz, double gz, const std::string& why) {
  std::ostringstream r;
  r << "HealthGuard stopped the run at step " << step_ << " (epoch " << position_.epoch << ", batch "
    << position_.batch << ", counting from 0): " << why << ", and ";
  if (options_.policy() == GuardPolicy::Rollback)
    r << rollbacks_ << " rollback" << (rollbacks_ == 1 ? "" : "s") << " (the limit) did not cure it";
  else
    r << options_.max_consecutive_skips() << " steps in a row were skipped";
  r << ".\n  seen at that step: loss " << fmt(h.loss) << " (z " << fmt(lz) << "), gradient norm " << fmt(h.grad_norm)
    << " (z " << fmt(gz) << "), " << h.nonfinite << " NaN/inf gradient elements";
  if (!h.nonfinite_params.empty()) {
    r << " in";
    for (size_t i = 0; i < h.nonfinite_params.size() && i < 5; ++i) r << (i ? ", " : " ") << h.nonfinite_params[i];
    if (h.nonfinite_params.size() > 5) r << " and " << h.nonfinite_params.size() - 5 << " more";
  }
  r << "; largest gradient norm " << fmt(h.largest_norm) << " in " << h.largest_param << "\n";
  if (good_) {
    // What the trainer evaluates or saves after a stop is the last good state, not the damaged one.
    NoGradGuard no_grad;
    restore_snapshot(run_, *good_);
    resume_step_ = good_->step;
    r << "  the model, optimizer, schedule, RNG and data position are put back to the last good state, that "
         "before step "
      << good_->step;
    if (!options_.checkpoint_path().empty()) r << " (also in " << options_.checkpoint_path() << ")";
    r << "\n";
  }
  r << "  the guard's actions, latest last:\n";
  const size_t first = events_.size() > 12 ? events_.size() - 12 : 0;
  if (first > 0) r << "    (" << first << " earlier)\n";
  for (size_t i = first; i < events_.size(); ++i)
    r << "    step " << events_[i].step << " " << events_[i].kind << ": " << events_[i].reason << "\n";
  report_ = r.str();
  record(event_here("stop", &h, lz, gz, why));
}

void HealthGuard::record(GuardEvent e) {
  if (options_.log()) *options_.log() << "guard: step " << e.step << " " << e.kind << ": " << e.reason << "\n";
  events_.push_back(std::move(e));
}

}  // namespace kiln::train
