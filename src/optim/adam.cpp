// Adam and AdamW: one shared step (AdamBase), differing only in how weight
// decay is applied. Parameters are bucketed by device, dtype and step count
// and handed to the backend's fused adam_update.
#include "kiln/optim/adam.h"

#include "backend/backend.h"
#include "kiln/core/grad_mode.h"
#include "optim/fused_buckets.h"

namespace kiln::optim {

namespace {

// The typed options of a group as the backend's (and the kernel's) hyper-parameters.
template <class Options>
kiln::detail::AdamHyper hyper_from(const Options& o) {
  kiln::detail::AdamHyper h;
  h.lr = o.lr();
  h.beta1 = std::get<0>(o.betas());
  h.beta2 = std::get<1>(o.betas());
  h.eps = o.eps();
  h.weight_decay = o.weight_decay();
  h.amsgrad = o.amsgrad();
  return h;
}

kiln::detail::AdamHyper hyper_of(const char* name, const OptimizerOptions& options, bool decoupled) {
  kiln::detail::AdamHyper h;
  if (const auto* adam = dynamic_cast<const AdamOptions*>(&options)) {
    h = hyper_from(*adam);
  } else if (const auto* adamw = dynamic_cast<const AdamWOptions*>(&options)) {
    h = hyper_from(*adamw);
  } else {
    throw ValueError(kiln::detail::str_cat(name, ": a parameter group has options of another optimizer"));
  }
  h.decoupled_weight_decay = decoupled;
  KILN_CHECK(h.lr >= 0, ValueError, name, ": invalid learning rate ", h.lr, " (must be >= 0)");
  KILN_CHECK(h.eps >= 0, ValueError, name, ": invalid eps ", h.eps, " (must be >= 0)");
  KILN_CHECK(h.beta1 >= 0 && h.beta1 < 1, ValueError, name, ": invalid beta1 ", h.beta1, " (must be in [0, 1))");
  KILN_CHECK(h.beta2 >= 0 && h.beta2 < 1, ValueError, name, ": invalid beta2 ", h.beta2, " (must be in [0, 1))");
  KILN_CHECK(h.weight_decay >= 0, ValueError, name, ": invalid weight_decay ", h.weight_decay, " (must be >= 0)");
  return h;
}

}  // namespace

void AdamBase::step() {
  NoGradGuard no_grad;
  const std::string who = name();
  for (auto& group : param_groups()) {
    const kiln::detail::AdamHyper base = hyper_of(who.c_str(), group.options(), decoupled_);
    internal::FusedBuckets buckets;
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& p = group.params()[i];
      if (!p.grad().defined()) continue;
      Tensor grad = internal::checked_grad(who.c_str(), p, i);
      ParamState& state = state_of(p);
      ++state.step;
      auto buffer = [&](const char* key) -> Tensor& {
        Tensor& slot = state.buffers[key];
        if (!slot.defined()) slot = internal::zero_state_like(p);
        return slot;
      };
      internal::FusedBucket& b = buckets.at(p, state.step);
      b.params.push_back(p);
      b.grads.push_back(grad);
      b.states[0].push_back(buffer("exp_avg"));
      b.states[1].push_back(buffer("exp_avg_sq"));
      if (base.amsgrad) b.states[2].push_back(buffer("max_exp_avg_sq"));
    }
    for (internal::FusedBucket* b : buckets.all()) {
      kiln::detail::AdamHyper h = base;
      h.step = b->key;
      kiln::detail::backend_for(b->device).adam_update(b->params, b->grads, b->states[0], b->states[1], b->states[2], h);
      internal::mark_updated(*b);
    }
  }
}

Adam::Adam(std::vector<OptimizerParamGroup> groups, const AdamOptions& defaults)
    : AdamBase("Adam", std::move(groups), defaults.clone(), /*decoupled=*/false) {
  hyper_of("Adam", defaults, false);
}
Adam::Adam(std::vector<Tensor> params, const AdamOptions& defaults)
    : Adam(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

AdamW::AdamW(std::vector<OptimizerParamGroup> groups, const AdamWOptions& defaults)
    : AdamBase("AdamW", std::move(groups), defaults.clone(), /*decoupled=*/true) {
  hyper_of("AdamW", defaults, true);
}
AdamW::AdamW(std::vector<Tensor> params, const AdamWOptions& defaults)
    : AdamW(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

}  // namespace kiln::optim
