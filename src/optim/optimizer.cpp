// Optimizer base: groups, zero_grad, per-parameter state and its state_dict.
#include "kiln/optim/optimizer.h"

#include <algorithm>
#include <set>
#include <sstream>

#include "core/number_format.h"
#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "kiln/core/grad_mode.h"

namespace kiln::optim {

void OptimizerOptions::throw_unknown_option(const char* optimizer, const std::string& name) {
  throw ValueError(kiln::detail::str_cat(optimizer, ": unknown hyper-parameter \"", name, "\""));
}

// --- OptimizerParamGroup ------------------------------------------------------

OptimizerParamGroup::OptimizerParamGroup(std::vector<Tensor> params) : params_(std::move(params)) {}
OptimizerParamGroup::OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options)
    : params_(std::move(params)), options_(std::move(options)) {}
OptimizerParamGroup::OptimizerParamGroup(const OptimizerParamGroup& other)
    : params_(other.params_), options_(other.options_ ? other.options_->clone() : nullptr) {}
OptimizerParamGroup& OptimizerParamGroup::operator=(const OptimizerParamGroup& other) {
  if (this != &other) {
    params_ = other.params_;
    options_ = other.options_ ? other.options_->clone() : nullptr;
  }
  return *this;
}
OptimizerOptions& OptimizerParamGroup::options() {
  KILN_CHECK(options_ != nullptr, ValueError, "OptimizerParamGroup: this group has no options yet");
  return *options_;
}
const OptimizerOptions& OptimizerParamGroup::options() const {
  KILN_CHECK(options_ != nullptr, ValueError, "OptimizerParamGroup: this group has no options yet");
  return *options_;
}

// --- Optimizer -------------------------------------------------------------------

Optimizer::Optimizer(std::string name, std::vector<OptimizerParamGroup> groups,
                     std::unique_ptr<OptimizerOptions> defaults)
    : name_(std::move(name)), defaults_(std::move(defaults)) {
  for (const auto& g : groups) add_param_group(g);
}

void Optimizer::add_param_group(const OptimizerParamGroup& group) {
  std::set<const void*> seen;
  for (const auto& g : groups_)
    for (const auto& p : g.params()) seen.insert(p.unsafe_impl());
  for (size_t i = 0; i < group.params().size(); ++i) {
    const Tensor& p = group.params()[i];
    KILN_CHECK(p.defined(), ValueError, name(), ": parameter ", i, " of the new group is undefined");
    KILN_CHECK(p.is_floating_point(), DTypeError, name(), ": parameter ", i, " is ", p.dtype(),
               "; only floating point tensors can be optimized");
    KILN_CHECK(seen.insert(p.unsafe_impl()).second, ValueError, name(), ": parameter ", i,
               " of the new group (", kiln::detail::describe(p), ") already belongs to a parameter group");
  }
  OptimizerParamGroup added(group.params(), group.has_options() ? group.options().clone() : defaults_->clone());
  groups_.push_back(std::move(added));
}

void Optimizer::zero_grad(bool set_to_none) {
  NoGradGuard no_grad;
  for (auto& g : groups_) {
    for (auto& p : g.params()) {
      Tensor grad = p.grad();
      if (!grad.defined()) continue;
      if (set_to_none) {
        p.set_grad(Tensor());
      } else {
        grad.zero_();
      }
    }
  }
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> all;
  for (const auto& g : groups_) all.insert(all.end(), g.params().begin(), g.params().end());
  return all;
}

Optimizer::ParamState& Optimizer::state_of(const Tensor& param) { return state_[param.unsafe_impl()]; }

const Optimizer::ParamState* Optimizer::find_state(const Tensor& param) const {
  auto it = state_.find(param.unsafe_impl());
  return it == state_.end() ? nullptr : &it->second;
}

OptimizerState Optimizer::state_dict() const {
  OptimizerState out;
  out.metadata["optimizer"] = name();
  out.metadata["num_groups"] = std::to_string(groups_.size());
  int64_t index = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const auto& g = groups_[gi];
    const std::string prefix = "group." + std::to_string(gi) + ".";
    for (const auto& [key, value] : g.options().to_map()) out.metadata[prefix + key] = kiln::detail::format_double(value);
    std::string ids;
    for (const auto& p : g.params()) {
      if (!ids.empty()) ids += ",";
      ids += std::to_string(index);
      if (const ParamState* s = find_state(p)) {
        const std::string sp = "state." + std::to_string(index) + ".";
        out.metadata[sp + "step"] = std::to_string(s->step);
        // Detached clones: the saved state must not change when training goes on.
        for (const auto& [bname, buf] : s->buffers) out.tensors[sp + bname] = buf.detach().clone();
      }
      ++index;
    }
    out.metadata[prefix + "params"] = ids;
  }
  return out;
}

namespace {
const std::string& require(const std::map<std::string, std::string>& m, const std::string& key, const std::string& who) {
  auto it = m.find(key);
  KILN_CHECK(it != m.end(), ValueError, who, ".load_state_dict: the state has no \"", key, "\" entry");
  return it->second;
}
}  // namespace

void Optimizer::load_state_dict(const OptimizerState& state) {
  const std::string who = name();
  const std::string& saved_name = require(state.metadata, "optimizer", who);
  KILN_CHECK(saved_name == who, ValueError, who, ".load_state_dict: the state was saved by ", saved_name);
  const int64_t num_groups = kiln::detail::parse_int(require(state.metadata, "num_groups", who), "num_groups");
  KILN_CHECK(num_groups == static_cast<int64_t>(groups_.size()), ValueError, who, ".load_state_dict: the state has ",
             num_groups, " parameter groups, this optimizer has ", groups_.size());

  // Check everything before changing anything, so a bad state leaves the optimizer as it was.
  std::map<const void*, ParamState> new_state;
  std::vector<std::unique_ptr<OptimizerOptions>> new_options;
  int64_t index = 0;
  for (size_t gi = 0; gi < groups_.size(); ++gi) {
    const std::string prefix = "group." + std::to_string(gi) + ".";
    const std::string& ids = require(state.metadata, prefix + "params", who);
    const int64_t saved_count = ids.empty() ? 0 : 1 + static_cast<int64_t>(std::count(ids.begin(), ids.end(), ','));
    KILN_CHECK(saved_count == static_cast<int64_t>(groups_[gi].params().size()), ValueError, who,
               ".load_state_dict: group ", gi, " has ", saved_count, " parameters in the state and ",
               groups_[gi].params().size(), " in this optimizer");
    std::map<std::string, double> hyper;
    for (const auto& [key, value] : state.metadata)
      if (key.compare(0, prefix.size(), prefix) == 0 && key != prefix + "params")
        hyper[key.substr(prefix.size())] = kiln::detail::parse_double(value, key);
    new_options.push_back(groups_[gi].options().clone());
    new_options.back()->from_map(hyper);
    for (const auto& p : groups_[gi].params()) {
      const std::string sp = "state." + std::to_string(index) + ".";
      auto step_it = state.metadata.find(sp + "step");
      if (step_it != state.metadata.end()) {
        ParamState ps;
        ps.step = kiln::detail::parse_counter(step_it->second, who + ".load_state_dict", sp + "step");
        for (auto it = state.tensors.lower_bound(sp); it != state.tensors.end() && it->first.compare(0, sp.size(), sp) == 0;
             ++it) {
          const Tensor& buf = it->second;
          KILN_CHECK(buf.sizes() == p.sizes(), ShapeError, who, ".load_state_dict: ", it->first, " has shape ",
                     shape_str(buf.sizes()), " but parameter ", index, " has shape ", shape_str(p.sizes()));
          KILN_CHECK(buf.dtype() == p.dtype(), DTypeError, who, ".load_state_dict: ", it->first, " is ", buf.dtype(),
                     " but parameter ", index, " is ", p.dtype());
          ps.buffers[it->first.substr(sp.size())] = buf.detach().to(p.device()).clone();
        }
        new_state[p.unsafe_impl()] = std::move(ps);
      }
      ++index;
    }
  }
  for (size_t gi = 0; gi < groups_.size(); ++gi) groups_[gi].set_options(std::move(new_options[gi]));
  state_ = std::move(new_state);
}

}  // namespace kiln::optim
