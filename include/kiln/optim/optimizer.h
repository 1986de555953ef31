// The optimizer base: parameter groups (each with its own hyper-parameters),
// per-parameter state, zero_grad, step, and a state_dict that fits in a
// safetensors file (tensors + string metadata).
#pragma once
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/core/state_dict.h"
#include "kiln/core/tensor.h"

namespace kiln::optim {

// Hyper-parameters of one group. Concrete options (SGDOptions, AdamOptions,
// ...) add chainable setters: SGDOptions(0.1).momentum(0.9).
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  // Every hyper-parameter by name (bools as 0/1), for state_dict and schedules.
  virtual std::map<std::string, double> to_map() const = 0;
  // Sets the hyper-parameters named in `values`; throws ValueError on a name it does not have.
  virtual void from_map(const std::map<std::string, double>& values) = 0;

 protected:
  [[noreturn]] static void throw_unknown_option(const char* optimizer, const std::string& name);
};

// Parameters that share hyper-parameters. A group without options takes the
// optimizer's defaults when it is added.
class OptimizerParamGroup {
 public:
  OptimizerParamGroup(std::vector<Tensor> params);  // NOLINT: implicit, like LibTorch
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options);
  OptimizerParamGroup(const OptimizerParamGroup& other);
  OptimizerParamGroup& operator=(const OptimizerParamGroup& other);
  OptimizerParamGroup(OptimizerParamGroup&&) = default;
  OptimizerParamGroup& operator=(OptimizerParamGroup&&) = default;

  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }
  bool has_options() const { return options_ != nullptr; }
  OptimizerOptions& options();
  const OptimizerOptions& options() const;
  void set_options(std::unique_ptr<OptimizerOptions> options) { options_ = std::move(options); }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

// What state_dict() returns: state tensors named "state.<param index>.<name>"
// (params numbered across groups in order) and string metadata holding the
// optimizer's name, per-parameter step counts and each group's
// hyper-parameters ("group.<g>.lr", "group.<g>.params" = "0,1,2").
struct OptimizerState {
  StateDict tensors;
  std::map<std::string, std::string> metadata;
};

class Optimizer {
 public:
  // `name` is what state_dict records and error messages start with ("SGD", "Adam").
  Optimizer(std::string name, std::vector<OptimizerParamGroup> groups, std::unique_ptr<OptimizerOptions> defaults);
  virtual ~Optimizer() = default;
  Optimizer(const Optimizer&) = delete;
  Optimizer& operator=(const Optimizer&) = delete;

  // Adds a group; missing options are copied from the defaults. A tensor may
  // belong to one group only (ValueError otherwise).
  void add_param_group(const OptimizerParamGroup& group);
  // Clears every parameter's gradient: undefined (set_to_none) or zero-filled.
  void zero_grad(bool set_to_none = true);
  // One update of every parameter that has a gradient.
  virtual void step() = 0;

  std::vector<OptimizerParamGroup>& param_groups() { return groups_; }
  const std::vector<OptimizerParamGroup>& param_groups() const { return groups_; }
  const OptimizerOptions& defaults() const { return *defaults_; }
  // All parameters, group by group.
  std::vector<Tensor> parameters() const;

  const std::string& name() const { return name_; }
  // Virtual so that an optimizer whose state lives elsewhere (ZeRO-1's
  // shards, kiln/dist/zero.h) can still save and load the per-parameter form.
  virtual OptimizerState state_dict() const;
  // Restores state saved from an optimizer of the same kind over parameters
  // of the same shapes; state tensors are copied to each parameter's device.
  virtual void load_state_dict(const OptimizerState& state);

 protected:
  // Per-parameter state: named buffers ("momentum_buffer", "exp_avg", ...)
  // and the number of updates this parameter has received.
  struct ParamState {
    std::map<std::string, Tensor> buffers;
    int64_t step = 0;
  };
  // The state of a parameter, created empty on first use.
  ParamState& state_of(const Tensor& param);
  const ParamState* find_state(const Tensor& param) const;

 private:
  std::string name_;
  std::vector<OptimizerParamGroup> groups_;
  std::unique_ptr<OptimizerOptions> defaults_;
  std::map<const void*, ParamState> state_;  // keyed by the parameter's TensorImpl
};

}  // namespace kiln::optim
