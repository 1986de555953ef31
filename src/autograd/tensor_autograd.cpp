// The autograd members of Tensor: requires_grad, .grad, backward, hooks.
#include "autograd/node.h"
#include "core/tensor_impl.h"
#include "kiln/core/tensor.h"

namespace kiln {

namespace autograd {
size_t new_hook_handle();
}

// --- autograd ------------------------------------------------------------------
Tensor& Tensor::requires_grad_(bool r) {
  check_defined("requires_grad_");
  KILN_CHECK(!r || is_floating(dtype()), DTypeError, "requires_grad_: only floating point tensors can require ",
             "gradients, got ", dtype());
  KILN_CHECK(r || !impl_->autograd || !impl_->autograd->grad_fn, AutogradError,
             "requires_grad_(false): the tensor is not a leaf (it was computed by ", impl_->autograd->grad_fn->name(),
             "); use detach()");
  impl_->meta().requires_grad = r;
  return *this;
}

bool Tensor::requires_grad() const { return defined() && impl_->requires_grad(); }
bool Tensor::is_leaf() const { return !impl_->autograd || !impl_->autograd->grad_fn; }

Tensor Tensor::grad() const {
  check_defined("grad");
  if (!impl_->autograd || !impl_->autograd->grad) return Tensor();
  return Tensor(impl_->autograd->grad);
}

void Tensor::set_grad(const Tensor& g) const {
  check_defined("set_grad");
  if (g.defined()) {
    KILN_CHECK(g.sizes() == sizes() && g.device() == device(), ValueError, "set_grad: gradient ",
               shape_str(g.sizes()), " on ", g.device(), " does not match tensor ", shape_str(sizes()), " on ", device());
  }
  impl_->meta().grad = g.defined() ? g.impl_ptr() : nullptr;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  return defined() && impl_->autograd ? impl_->autograd->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph) const {
  check_defined("backward");
  autograd::check_no_create_graph("backward", create_graph);
  autograd::run_backward({*this}, {gradient}, retain_graph.value_or(create_graph));
}

void Tensor::retain_grad() const {
  check_defined("retain_grad");
  KILN_CHECK(requires_grad(), AutogradError, "retain_grad: the tensor does not require grad");
  if (is_leaf() || impl_->autograd->retains_grad) return;
  impl_->autograd->retains_grad = true;
  std::weak_ptr<detail::TensorImpl> weak = impl_;
  impl_->autograd->grad_fn->add_pre_hook(
      [weak](const Tensor& g) {
    if (auto self = weak.lock()) {
      auto& meta = self->meta();
      if (!meta.grad) meta.grad = g.contiguous().clone().detach().impl_ptr();
      else Tensor(meta.grad).add_(g);
    }
    return Tensor();
      },
      impl_->autograd->output_nr);
}

size_t Tensor::register_hook(std::function<Tensor(const Tensor&)> fn) const {
  check_defined("register_hook");
  KILN_CHECK(requires_grad(), AutogradError, "register_hook: cannot register a hook on a tensor that does not ",
             "require grad");
  if (!is_leaf()) return impl_->autograd->grad_fn->add_pre_hook(std::move(fn), impl_->autograd->output_nr);
  size_t h = autograd::new_hook_handle();
  impl_->autograd->hooks.emplace_back(h, std::move(fn));
  return h;
}

size_t Tensor::register_hook(std::function<void(const Tensor&)> fn) const {
  return register_hook(std::function<Tensor(const Tensor&)>([fn = std::move(fn)](const Tensor& g) {
    fn(g);
    return Tensor();
  }));
}

void Tensor::remove_hook(size_t handle) const {
  check_defined("remove_hook");
  if (!impl_->autograd) return;
  if (impl_->autograd->grad_fn && impl_->autograd->grad_fn->remove_pre_hook(handle)) return;
  auto& hooks = impl_->autograd->hooks;
  for (auto it = hooks.begin(); it != hooks.end(); ++it) {
    if (it->first == handle) {
      hooks.erase(it);
      return;
    }
  }
}

}  // namespace kiln
