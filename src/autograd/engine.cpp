// The backward pass: counts how many gradients each node will receive, then
// runs nodes whose inputs are complete, latest-recorded first.
#include <queue>
#include <unordered_map>

#include "autograd/node.h"
#include "core/tensor_impl.h"
#include "kiln/autograd/autograd.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"

namespace kiln::autograd {

namespace {

struct LaterFirst {
  bool operator()(const Node* a, const Node* b) const { return a->sequence_nr() < b->sequence_nr(); }
};

// Checks a gradient a node produced against the input it is for, and casts
// it to that input's dtype (a gradient is always in its input's dtype).
Tensor validate_grad(const Node& node, size_t i, const Edge& edge, Tensor g) {
  KILN_CHECK(g.sizes() == edge.sizes, InternalError, node.name(), " returned a gradient of shape ",
             shape_str(g.sizes()), " for input ", i, " of shape ", shape_str(edge.sizes));
  KILN_CHECK(g.device() == edge.device, DeviceError, node.name(), ": gradient for input ", i, " is on ",
             g.device(), " but the input is on ", edge.device);
  if (g.dtype() != edge.dtype) g = g.to(edge.dtype);
  return g;
}

// Runs the graph. `capture` (optional) maps nodes to output slots: their
// incoming gradient is stored there, and leaves are not accumulated.
void execute(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, bool retain_graph,
             const std::unordered_map<Node*, size_t>* capture, std::vector<Tensor>* captured) {
  std::vector<std::pair<std::shared_ptr<Node>, Tensor>> starts;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    KILN_CHECK(r.requires_grad(), AutogradError, "backward: tensor ", i, " (shape ", shape_str(r.sizes()),
               ") does not require grad and has no grad_fn");
    starts.emplace_back(edge_to(r).fn, root_grads[i]);
  }

  // Dependencies: how many edges point at each node.
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep_alive;
  std::vector<Node*> stack;
  for (auto& [fn, g] : starts) {
    if (keep_alive.emplace(fn.get(), fn).second) stack.push_back(fn.get());
  }
  while (!stack.empty()) {
    Node* n = stack.back();
    stack.pop_back();
    for (const Edge& e : n->next_edges()) {
      if (!e.fn) continue;
      ++deps[e.fn.get()];
      if (keep_alive.emplace(e.fn.get(), e.fn).second) stack.push_back(e.fn.get());
    }
  }

  std::unordered_map<Node*, Tensor> buffer;
  auto accumulate = [&](Node* n, const Tensor& g) {
    if (!g.defined()) return;
    auto it = buffer.find(n);
    if (it == buffer.end() || !it->second.defined()) buffer[n] = g;
    else it->second = it->second + g;
  };
  for (auto& [fn, g] : starts) accumulate(fn.get(), g);

  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (auto& [fn, g] : starts)
    if (deps[fn.get()] == 0) ready.push(fn.get());
  // A root might appear twice; run each node once.
  std::unordered_map<Node*, bool> done;

  NoGradGuard no_grad;  // backward formulas are not themselves recorded
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    if (done[n]) continue;
    done[n] = true;
    Tensor grad = buffer[n];
    buffer.erase(n);

    std::vector<Tensor> in_grads;
    if (grad.defined()) {
      grad = n->run_pre_hooks(grad);
      if (capture) {
        auto c = capture->find(n);
        if (c != capture->end()) {
          // grad() skips AccumulateGrad::apply, where a leaf's tensor hooks
          // run; PyTorch runs them on the captured gradient, so run them here.
          auto* sink = dynamic_cast<AccumulateGrad*>(n);
          if (sink && sink->leaf()->autograd) {
            for (const auto& [handle, hook] : sink->leaf()->autograd->hooks) {
              Tensor replaced = hook(grad);
              if (replaced.defined()) grad = replaced;
            }
          }
          (*captured)[c->second] = grad;
        }
      }
      const bool is_leaf_sink = dynamic_cast<AccumulateGrad*>(n) != nullptr;
      if (!(capture && is_leaf_sink)) {
        // Nodes that saved tensors refuse a second run in SavedTensor::unpack.
        in_grads = n->apply(grad);
        if (!retain_graph) n->mark_released();
      }
    }
    const auto& edges = n->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.fn) continue;
      if (i < in_grads.size() && in_grads[i].defined()) accumulate(e.fn.get(), validate_grad(*n, i, e, in_grads[i]));
      if (--deps[e.fn.get()] == 0) ready.push(e.fn.get());
    }
  }
}

Tensor default_root_grad(const Tensor& root, const Tensor& given, const char* op) {
  if (given.defined()) {
    KILN_CHECK(given.sizes() == root.sizes(), ShapeError, op, ": gradient shape ", shape_str(given.sizes()),
               " must match the output shape ", shape_str(root.sizes()));
    KILN_CHECK(given.device() == root.device(), DeviceError, op, ": gradient is on ", given.device(),
               " but the output is on ", root.device());
    return given.to(root.dtype());
  }
  KILN_CHECK(root.numel() == 1, AutogradError, op, ": grad can be implicitly created only for outputs with one ",
             "element, but the output has shape ", shape_str(root.sizes()), "; pass a gradient tensor");
  return ones_like(root);
}

}  // namespace

namespace {
// The callbacks of the backward running on this thread (queue_callback);
// a backward started from inside another gets a list of its own.
thread_local std::vector<std::function<void()>>* current_callbacks = nullptr;
}  // namespace

void queue_callback(std::function<void()> fn) {
  KILN_CHECK(current_callbacks != nullptr, AutogradError, "queue_callback: no backward pass is running on this thread");
  current_callbacks->push_back(std::move(fn));
}

bool in_backward_pass() { return current_callbacks != nullptr; }

void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, bool retain_graph) {
  std::vector<Tensor> grads;
  for (size_t i = 0; i < roots.size(); ++i)
    grads.push_back(default_root_grad(roots[i], i < root_grads.size() ? root_grads[i] : Tensor(), "backward"));
  std::vector<std::function<void()>> callbacks;
  auto* const outer = current_callbacks;
  current_callbacks = &callbacks;
  try {
    execute(roots, grads, retain_graph, nullptr, nullptr);
  } catch (...) {
    current_callbacks = outer;
    throw;
  }
  current_callbacks = outer;
  for (auto& fn : callbacks) fn();
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, bool retain_graph, bool allow_unused) {
  KILN_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, "autograd::grad: got ",
             grad_outputs.size(), " grad_outputs for ", outputs.size(), " outputs");
  std::vector<Tensor> grads;
  for (size_t i = 0; i < outputs.size(); ++i)
    grads.push_back(default_root_grad(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "autograd::grad"));
  std::unordered_map<Node*, size_t> capture;
  std::vector<std::shared_ptr<Node>> keep;
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_CHECK(inputs[i].requires_grad(), AutogradError, "autograd::grad: input ", i, " does not require grad");
    auto fn = edge_to(inputs[i]).fn;
    keep.push_back(fn);
    capture[fn.get()] = i;
  }
  std::vector<Tensor> captured(inputs.size());
  execute(outputs, grads, retain_graph, &capture, &captured);
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_CHECK(allow_unused || captured[i].defined(), AutogradError, "autograd::grad: input ", i,
               " was not used to compute the outputs (pass allow_unused=true)");
  }
  return captured;
}

}  // namespace kiln::autograd
