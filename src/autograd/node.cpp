#include "autograd/node.h"

#include <atomic>

#include "core/tensor_impl.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"

namespace kiln::autograd {

namespace {
std::atomic<uint64_t> next_sequence_nr{0};
std::atomic<size_t> next_hook_handle{1};
}  // namespace

size_t new_hook_handle() { return next_hook_handle++; }

Node::Node() : sequence_nr_(next_sequence_nr++) {}

size_t Node::add_pre_hook(std::function<Tensor(const Tensor&)> hook, uint32_t output_nr) {
  size_t h = new_hook_handle();
  pre_hooks_.push_back(PreHook{h, output_nr, std::move(hook)});
  return h;
}

bool Node::remove_pre_hook(size_t handle) {
  for (auto it = pre_hooks_.begin(); it != pre_hooks_.end(); ++it) {
    if (it->handle == handle) {
      pre_hooks_.erase(it);
      return true;
    }
  }
  return false;
}

Tensor Node::run_pre_hooks(Tensor grad, uint32_t output_nr) const {
  for (const PreHook& hook : pre_hooks_) {
    if (hook.output_nr != output_nr) continue;
    Tensor replaced = hook.fn(grad);
    if (replaced.defined()) grad = replaced;
  }
  return grad;
}

bool can_take_over(const Tensor& grad, long refs) {
  const detail::TensorImpl* impl = grad.unsafe_impl();
  if (grad.impl_ptr().use_count() != refs || impl->storage.use_count() != 1) return false;
  if (impl->offset != 0 || !grad.is_contiguous()) return false;
  if (impl->storage->nbytes != static_cast<size_t>(impl->numel) * element_size(impl->dtype)) return false;
  return !impl->autograd || (!impl->autograd->requires_grad && !impl->autograd->grad_fn);
}

std::vector<Tensor> AccumulateGrad::apply(const Tensor& grad_output) {
  Tensor grad = grad_output;
  if (leaf_->autograd) {
    for (const auto& [handle, hook] : leaf_->autograd->hooks) {
      Tensor replaced = hook(grad);
      if (replaced.defined()) grad = replaced;
    }
  }
  auto& meta = leaf_->meta();
  NoGradGuard no_grad;
  if (!meta.grad) {
    // .grad() must be a buffer of its own, since users write into it. The
    // incoming gradient is taken over when nothing else can see it (as
    // PyTorch does); otherwise it may be a broadcast view or alias another
    // tensor, and is copied. The engine's slot and `grad` hold it, or only
    // `grad` when a hook replaced it.
    const long engine_refs = grad.is_same(grad_output) ? 2 : 1;
    if (can_take_over(grad, engine_refs)) {
      grad.unsafe_impl()->is_view = false;  // its storage is its own now
      meta.grad = grad.impl_ptr();
    } else {
      meta.grad = grad.contiguous().clone().detach().impl_ptr();
    }
  } else {
    Tensor acc(meta.grad);
    KILN_CHECK(acc.device() == grad.device(), DeviceError, "backward: gradient on ", grad.device(),
               " cannot accumulate into .grad() on ", acc.device());
    acc.add_(grad);
  }
  if (leaf_->autograd && !leaf_->autograd->post_accumulate_hooks.empty()) {
    const Tensor leaf(leaf_);
    // A copy: a hook may remove itself.
    const auto hooks = leaf_->autograd->post_accumulate_hooks;
    for (const auto& [handle, hook] : hooks) hook(leaf);
  }
  return {};
}

size_t add_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook) {
  KILN_CHECK(leaf.defined() && leaf.requires_grad() && leaf.is_leaf(), AutogradError,
             "add_post_accumulate_grad_hook: the tensor must be a leaf that requires grad");
  size_t h = new_hook_handle();
  leaf.unsafe_impl()->meta().post_accumulate_hooks.emplace_back(h, std::move(hook));
  return h;
}

void remove_post_accumulate_grad_hook(const Tensor& leaf, size_t handle) {
  if (!leaf.defined() || !leaf.unsafe_impl()->autograd) return;
  auto& hooks = leaf.unsafe_impl()->autograd->post_accumulate_hooks;
  for (auto it = hooks.begin(); it != hooks.end(); ++it) {
    if (it->first == handle) {
      hooks.erase(it);
      return;
    }
  }
}

SavedTensor::SavedTensor(const Tensor& t) : was_defined_(t.defined()) {
  if (!t.defined()) return;
  data_ = t.detach();
  version_ = t.version();
}

Tensor SavedTensor::unpack(const Node& owner) const {
  KILN_CHECK(!owner.released(), AutogradError, owner.name(),
             ": trying to backward through the graph a second time (or to use saved tensors after they were "
             "freed); pass retain_graph=true to the first backward() if you need to");
  if (!was_defined_) return Tensor();
  KILN_CHECK(data_.version() == version_, AutogradError, owner.name(),
             ": a tensor saved for backward (shape ", shape_str(data_.sizes()), ", ", data_.dtype(),
             ") was modified by an in-place operation after it was saved (version ", version_, " -> ",
             data_.version(), ")");
  return data_;
}

bool needs_grad(std::initializer_list<const Tensor*> inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor* t : inputs)
    if (t->defined() && t->requires_grad()) return true;
  return false;
}

bool needs_grad(const std::vector<Tensor>& inputs) {
  if (!GradMode::is_enabled()) return false;
  for (const Tensor& t : inputs)
    if (t.defined() && t.requires_grad()) return true;
  return false;
}

std::shared_ptr<Node> grad_accumulator(const Tensor& leaf) {
  auto& meta = leaf.unsafe_impl()->meta();
  if (auto existing = meta.grad_accumulator.lock()) return existing;
  auto acc = std::make_shared<AccumulateGrad>(leaf.impl_ptr());
  meta.grad_accumulator = acc;
  return acc;
}

Edge edge_to(const Tensor& t) {
  Edge e;
  if (!t.defined()) return e;
  e.sizes = t.sizes();
  e.dtype = t.dtype();
  e.device = t.device();
  if (!t.requires_grad()) return e;
  auto fn = t.grad_fn();
  e.fn = fn ? fn : grad_accumulator(t);
  if (fn) e.input_nr = t.unsafe_impl()->autograd->output_nr;
  return e;
}

namespace {
void attach(Tensor& out, const std::shared_ptr<Node>& node, std::vector<Edge> edges) {
  node->set_next_edges(std::move(edges));
  auto& meta = out.unsafe_impl()->meta();
  meta.requires_grad = true;
  meta.grad_fn = node;
  meta.output_nr = 0;
}
}  // namespace

void set_history(Tensor& out, const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor* t : inputs) edges.push_back(edge_to(*t));
  attach(out, node, std::move(edges));
}

void set_history_outputs(std::vector<Tensor>& outs, const std::shared_ptr<Node>& node,
                         std::initializer_list<const Tensor*> inputs) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor* t : inputs) edges.push_back(edge_to(*t));
  node->set_next_edges(std::move(edges));
  for (size_t k = 0; k < outs.size(); ++k) {
    auto& meta = outs[k].unsafe_impl()->meta();
    meta.requires_grad = true;
    meta.grad_fn = node;
    meta.output_nr = static_cast<uint32_t>(k);
  }
}

void set_history(Tensor& out, const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs) {
  std::vector<Edge> edges;
  edges.reserve(inputs.size());
  for (const Tensor& t : inputs) edges.push_back(edge_to(t));
  attach(out, node, std::move(edges));
}

}  // namespace kiln::autograd
