#include "kiln/optim/ema.h"

#include "core/number_format.h"
#include "core/tensor_checks.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/math.h"

namespace kiln::optim {

EMA::EMA(std::vector<Tensor> tensors, double decay) : tensors_(std::move(tensors)), decay_(decay) {
  KILN_CHECK(decay >= 0 && decay <= 1, ValueError, "EMA: decay must be in [0, 1], got ", decay);
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    KILN_CHECK(tensors_[i].defined(), ValueError, "EMA: tensor ", i, " is undefined");
    shadow_.push_back(tensors_[i].detach().clone());
  }
}

void EMA::update() {
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) {
    const Tensor t = tensors_[i].detach();
    if (!t.is_floating_point()) {
      shadow_[i].copy_(t);
      continue;
    }
    // shadow += (1 - decay) * (t - shadow): one lerp, as PyTorch's ema_update.
    shadow_[i].add_(t - shadow_[i], 1.0 - decay_);
  }
  ++num_updates_;
}

void EMA::copy_to() const {
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) Tensor(tensors_[i]).copy_(shadow_[i]);
}

void EMA::store() {
  NoGradGuard no_grad;
  stored_.clear();
  for (const Tensor& t : tensors_) stored_.push_back(t.detach().clone());
}

void EMA::restore() {
  KILN_CHECK(stored_.size() == tensors_.size(), ValueError, "EMA::restore: nothing was stored (call store() first)");
  NoGradGuard no_grad;
  for (size_t i = 0; i < tensors_.size(); ++i) Tensor(tensors_[i]).copy_(stored_[i]);
  stored_.clear();
}

StateDict EMA::state_dict() const {
  StateDict out;
  for (size_t i = 0; i < shadow_.size(); ++i) out["shadow." + std::to_string(i)] = shadow_[i];
  return out;
}

std::map<std::string, std::string> EMA::state_metadata() const {
  return {{"ema_decay", kiln::detail::format_double(decay_)}, {"ema_num_updates", std::to_string(num_updates_)}};
}

void EMA::load_state_dict(const StateDict& tensors, const std::map<std::string, std::string>& metadata) {
  KILN_CHECK(tensors.size() == shadow_.size(), ValueError, "EMA::load_state_dict: the state has ", tensors.size(),
             " shadow tensors, this EMA tracks ", shadow_.size());
  for (size_t i = 0; i < shadow_.size(); ++i) {
    auto it = tensors.find("shadow." + std::to_string(i));
    KILN_CHECK(it != tensors.end(), ValueError, "EMA::load_state_dict: the state has no \"shadow.", i, "\"");
    KILN_CHECK(it->second.sizes() == shadow_[i].sizes(), ShapeError, "EMA::load_state_dict: shadow.", i, " is ",
               kiln::detail::describe(it->second), " but the tracked tensor is ", kiln::detail::describe(shadow_[i]));
  }
  int64_t updates = num_updates_;
  auto it = metadata.find("ema_num_updates");
  if (it != metadata.end()) updates = kiln::detail::parse_counter(it->second, "EMA::load_state_dict", "ema_num_updates");
  NoGradGuard no_grad;
  for (size_t i = 0; i < shadow_.size(); ++i)
    shadow_[i].copy_(tensors.at("shadow." + std::to_string(i)).to(shadow_[i].device()).to(shadow_[i].dtype()));
  num_updates_ = updates;
}

}  // namespace kiln::optim
