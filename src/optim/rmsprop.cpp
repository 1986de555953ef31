// RMSprop: bucketed by device and dtype, handed to the backend's fused rmsprop_update.
#include "kiln/optim/rmsprop.h"

#include "backend/backend.h"
#include "kiln/core/grad_mode.h"
#include "optim/fused_buckets.h"

namespace kiln::optim {

std::map<std::string, double> RMSpropOptions::to_map() const {
  return {{"lr", lr_},
          {"alpha", alpha_},
          {"eps", eps_},
          {"weight_decay", weight_decay_},
          {"momentum", momentum_},
          {"centered", centered_ ? 1.0 : 0.0}};
}

void RMSpropOptions::from_map(const std::map<std::string, double>& values) {
  for (const auto& [key, v] : values) {
    if (key == "lr") lr_ = v;
    else if (key == "alpha") alpha_ = v;
    else if (key == "eps") eps_ = v;
    else if (key == "weight_decay") weight_decay_ = v;
    else if (key == "momentum") momentum_ = v;
    else if (key == "centered") centered_ = v != 0;
    else throw_unknown_option("RMSprop", key);
  }
}

namespace {
const RMSpropOptions& checked(const OptimizerOptions& options) {
  const auto* o = dynamic_cast<const RMSpropOptions*>(&options);
  KILN_CHECK(o != nullptr, ValueError, "RMSprop: a parameter group has options of another optimizer");
  KILN_CHECK(o->lr() >= 0, ValueError, "RMSprop: invalid learning rate ", o->lr(), " (must be >= 0)");
  KILN_CHECK(o->eps() >= 0, ValueError, "RMSprop: invalid eps ", o->eps(), " (must be >= 0)");
  KILN_CHECK(o->alpha() >= 0, ValueError, "RMSprop: invalid alpha ", o->alpha(), " (must be >= 0)");
  KILN_CHECK(o->momentum() >= 0, ValueError, "RMSprop: invalid momentum ", o->momentum(), " (must be >= 0)");
  KILN_CHECK(o->weight_decay() >= 0, ValueError, "RMSprop: invalid weight_decay ", o->weight_decay(),
             " (must be >= 0)");
  return *o;
}
}  // namespace

RMSprop::RMSprop(std::vector<OptimizerParamGroup> groups, const RMSpropOptions& defaults)
    : Optimizer("RMSprop", std::move(groups), defaults.clone()) {
  checked(defaults);
}
RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& defaults)
    : RMSprop(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void RMSprop::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const RMSpropOptions& o = checked(group.options());
    internal::FusedBuckets buckets;
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& p = group.params()[i];
      if (!p.grad().defined()) continue;
      Tensor grad = internal::checked_grad("RMSprop", p, i);
      ParamState& state = state_of(p);
      ++state.step;
      auto buffer = [&](const char* key) -> Tensor& {
        Tensor& slot = state.buffers[key];
        if (!slot.defined()) slot = internal::zero_state_like(p);
        return slot;
      };
      internal::FusedBucket& b = buckets.at(p, 0);
      b.params.push_back(p);
      b.grads.push_back(grad);
      b.states[0].push_back(buffer("square_avg"));
      if (o.momentum() > 0) b.states[1].push_back(buffer("momentum_buffer"));
      if (o.centered()) b.states[2].push_back(buffer("grad_avg"));
    }
    for (internal::FusedBucket* b : buckets.all()) {
      kiln::detail::RmspropHyper h;
      h.lr = o.lr();
      h.alpha = o.alpha();
      h.eps = o.eps();
      h.weight_decay = o.weight_decay();
      h.momentum = o.momentum();
      h.centered = o.centered();
      kiln::detail::backend_for(b->device).rmsprop_update(b->params, b->grads, b->states[0], b->states[1],
                                                            b->states[2], h);
      internal::mark_updated(*b);
    }
  }
}

}  // namespace kiln::optim
