// SGD: collects each group's parameters into device/dtype buckets and hands
// them to the backend's fused sgd_update.
#include "kiln/optim/sgd.h"

#include "backend/backend.h"
#include "kiln/core/grad_mode.h"
#include "optim/fused_buckets.h"

namespace kiln::optim {

std::map<std::string, double> SGDOptions::to_map() const {
  return {{"lr", lr_},
          {"momentum", momentum_},
          {"dampening", dampening_},
          {"weight_decay", weight_decay_},
          {"nesterov", nesterov_ ? 1.0 : 0.0}};
}

void SGDOptions::from_map(const std::map<std::string, double>& values) {
  for (const auto& [key, v] : values) {
    if (key == "lr") lr_ = v;
    else if (key == "momentum") momentum_ = v;
    else if (key == "dampening") dampening_ = v;
    else if (key == "weight_decay") weight_decay_ = v;
    else if (key == "nesterov") nesterov_ = v != 0;
    else throw_unknown_option("SGD", key);
  }
}

namespace {
void check_options(const SGDOptions& o) {
  KILN_CHECK(o.lr() >= 0, ValueError, "SGD: invalid learning rate ", o.lr(), " (must be >= 0)");
  KILN_CHECK(o.momentum() >= 0, ValueError, "SGD: invalid momentum ", o.momentum(), " (must be >= 0)");
  KILN_CHECK(o.weight_decay() >= 0, ValueError, "SGD: invalid weight_decay ", o.weight_decay(), " (must be >= 0)");
  KILN_CHECK(!o.nesterov() || (o.momentum() > 0 && o.dampening() == 0), ValueError,
             "SGD: nesterov momentum requires momentum > 0 and dampening 0, got momentum ", o.momentum(),
             " and dampening ", o.dampening());
}
}  // namespace

SGD::SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& defaults)
    : Optimizer("SGD", std::move(groups), defaults.clone()) {
  check_options(defaults);
}
SGD::SGD(std::vector<Tensor> params, const SGDOptions& defaults)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, defaults) {}

void SGD::step() {
  NoGradGuard no_grad;
  for (auto& group : param_groups()) {
    const auto& o = static_cast<const SGDOptions&>(group.options());
    check_options(o);
    internal::FusedBuckets buckets;
    for (size_t i = 0; i < group.params().size(); ++i) {
      const Tensor& p = group.params()[i];
      if (!p.grad().defined()) continue;
      Tensor grad = internal::checked_grad("SGD", p, i);
      ParamState& state = state_of(p);
      ++state.step;
      bool first_step = false;
      Tensor buf;
      if (o.momentum() != 0) {
        Tensor& slot = state.buffers["momentum_buffer"];
        if (!slot.defined()) {
          slot = internal::zero_state_like(p);
          first_step = true;
        }
        buf = slot;
      }
      internal::FusedBucket& b = buckets.at(p, first_step ? 1 : 0);
      b.params.push_back(p);
      b.grads.push_back(grad);
      if (buf.defined()) b.states[0].push_back(buf);
    }
    for (internal::FusedBucket* b : buckets.all()) {
      kiln::detail::SgdHyper h;
      h.lr = o.lr();
      h.momentum = o.momentum();
      h.dampening = o.dampening();
      h.weight_decay = o.weight_decay();
      h.nesterov = o.nesterov();
      h.first_step = b->key == 1;
      kiln::detail::backend_for(b->device).sgd_update(b->params, b->grads, b->states[0], h);
      internal::mark_updated(*b);
    }
  }
}

}  // namespace kiln::optim
