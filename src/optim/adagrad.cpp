// Adagrad: bucketed by device, dtype and step count (the lr decay depends on
// it), handed to the backend's fused adagrad_update.
#include "kiln/optim/adagrad.h"

#include "backend/backend.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "optim/fused_buckets.h"

namespace kiln::optim {

std::map<std::string, double> AdagradOptions::to_map() const {
  return {{"lr", lr_},
          {"lr_decay", lr_decay_},
          {"weight_decay", weight_decay_},
          {"initial_accumulator_value", initial_accumulator_value_},
          {"eps", eps_}};
}

void AdagradOptions::from_map(const std::map<std::string, double>& values) {
  for (const auto& [key, v] : values) {
    if (key == "lr") lr_ = v;
    else if (key == "lr_decay") lr_decay_ = v;
    else if (key == "weight_decay") weight_decay_ = v;
    else if (key == "initial_accumulator_value") initial_accumulator_value_ = v;
    else if (key == "eps") eps_ = v;
    else throw_unknown_option("Adagrad", key);
  }
}

namespace {
const AdagradOptions& checked(const OptimizerOptions& options) {
  const auto* o = dynamic_cast<const AdagradOptions*>(&options);
  KILN_CHECK(o != nullptr, ValueError, "Adagrad: a parameter group has options of another optimizer");
  KILN_CHECK(o->lr() >= 0, ValueError, "Adagrad: invalid learning rate ", o->lr(), " (must be >= 0)");
  KILN_CHECK(o->lr_decay() >= 0, ValueError, "Adagrad: invalid lr_decay ", o->lr_decay(), " (must be >= 0)");
  KILN_CHECK(o->weight_decay() >= 0, ValueError, "Adagrad: invalid weight_decay ", o->weight_decay(),
             " (must be >= 0)");
  KILN_CHECK(o->initial_accumulator_value() >= 0, ValueError, "Adagrad: invalid initial_accumulator_value ",
             o->initial_accumulator_value(), " (must be >= 0)");
  KILN_CHECK(o->eps() >= 0, ValueError, "Adagrad: invalid eps ", o->eps(), " (must be >= 0)");
  return *o;
}
}  // namespace

Adagrad::Adagrad(std::vector<OptimizerParamGroup> groups, const AdagradOptions& defaults)
    : Optimizer("Adagrad", std::move(groups), defaults.clone()) {
  checked(defaults);
}
Adagrad::Adagrad(std::vector<Tensor> params, const AdagradOptions& defaults)
    : Adagrad(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void Adagrad::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const AdagradOptions& o = checked(group.options());
    internal::FusedBuckets buckets;
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& p = group.params()[i];
      if (!p.grad().defined()) continue;
      Tensor grad = internal::checked_grad("Adagrad", p, i);
      ParamState& state = state_of(p);
      ++state.step;
      Tensor& sum = state.buffers["sum"];
      if (!sum.defined())
        sum = full(p.sizes(), o.initial_accumulator_value(), TensorOptions().dtype(p.dtype()).device(p.device()));
      internal::FusedBucket& b = buckets.at(p, state.step);
      b.params.push_back(p);
      b.grads.push_back(grad);
      b.states[0].push_back(sum);
    }
    for (internal::FusedBucket* b : buckets.all()) {
      kiln::detail::AdagradHyper h;
      h.lr = o.lr();
      h.lr_decay = o.lr_decay();
      h.weight_decay = o.weight_decay();
      h.eps = o.eps();
      h.step = b->key;
      kiln::detail::backend_for(b->device).adagrad_update(b->params, b->grads, b->states[0], h);
      internal::mark_updated(*b);
    }
  }
}

}  // namespace kiln::optim
