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
#include "ops/autocast.h"

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

// Where autograd::grad() wants a gradient: the gradient flowing into output
// `slot` of a node is stored in result `index` (leaves are then not accumulated).
struct CaptureSlot {
  uint32_t slot;
  size_t index;
};
using Capture = std::unordered_map<Node*, std::vector<CaptureSlot>>;

// Runs the graph. `capture` (optional) says which gradients to store in `captured`.
void execute(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, bool retain_graph,
             const Capture* capture, std::vector<Tensor>* captured) {
  struct Start {
    std::shared_ptr<Node> fn;
    uint32_t slot;
    Tensor grad;
  };
  std::vector<Start> starts;
  for (size_t i = 0; i < roots.size(); ++i) {
    const Tensor& r = roots[i];
    KILN_CHECK(r.requires_grad(), AutogradError, "backward: tensor ", i, " (shape ", shape_str(r.sizes()),
               ") does not require grad and has no grad_fn");
    const Edge e = edge_to(r);
    starts.push_back(Start{e.fn, e.input_nr, root_grads[i]});
  }

  // Dependencies: how many edges point at each node.
  std::unordered_map<Node*, int> deps;
  std::unordered_map<Node*, std::shared_ptr<Node>> keep_alive;
  std::vector<Node*> stack;
  for (const Start& st : starts) {
    if (keep_alive.emplace(st.fn.get(), st.fn).second) stack.push_back(st.fn.get());
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

  // One gradient per output of each node, summed as they arrive.
  std::unordered_map<Node*, std::vector<Tensor>> buffer;
  auto accumulate = [&](Node* n, uint32_t slot, const Tensor& g) {
    if (!g.defined()) return;
    std::vector<Tensor>& grads = buffer[n];
    if (grads.empty()) grads.resize(std::max<size_t>(n->num_outputs(), 1));
    KILN_INTERNAL_ASSERT(slot < grads.size(), n->name(), ": gradient for output ", slot, " of ", grads.size());
    Tensor& acc = grads[slot];
    if (!acc.defined()) {
      acc = g;
    } else if (acc.sizes() == g.sizes() && acc.dtype() == g.dtype() && can_take_over(acc, 1)) {
      // Only this slot holds acc (the gradient of a tensor used twice, such
      // as a residual stream's): summed in place, no new buffer.
      NoGradGuard no_grad;
      acc.add_(g);
    } else {
      acc = acc + g;
    }
  };
  for (const Start& st : starts) accumulate(st.fn.get(), st.slot, st.grad);

  std::priority_queue<Node*, std::vector<Node*>, LaterFirst> ready;
  for (const Start& st : starts)
    if (deps[st.fn.get()] == 0) ready.push(st.fn.get());
  // A root might appear twice; run each node once.
  std::unordered_map<Node*, bool> done;

  NoGradGuard no_grad;  // backward formulas are not themselves recorded
  // Backward formulas run in the dtypes their forward saved, not re-autocast
  // (a bf16 gradient summed for a bias would otherwise be widened to f32).
  kiln::detail::AutocastSuspend no_autocast;
  while (!ready.empty()) {
    Node* n = ready.top();
    ready.pop();
    if (done[n]) continue;
    done[n] = true;
    std::vector<Tensor> grads = std::move(buffer[n]);
    buffer.erase(n);
    bool any = false;
    for (uint32_t k = 0; k < grads.size(); ++k) {
      if (!grads[k].defined()) continue;
      grads[k] = n->run_pre_hooks(grads[k], k);
      any = true;
    }

    std::vector<Tensor> in_grads;
    if (any) {
      auto* sink = dynamic_cast<AccumulateGrad*>(n);
      if (capture) {
        auto c = capture->find(n);
        if (c != capture->end()) {
          for (const CaptureSlot& want : c->second) {
            Tensor g = want.slot < grads.size() ? grads[want.slot] : Tensor();
            // grad() skips AccumulateGrad::apply, where a leaf's tensor hooks
            // run; PyTorch runs them on the captured gradient, so run them here.
            if (g.defined() && sink && sink->leaf()->autograd) {
              for (const auto& [handle, hook] : sink->leaf()->autograd->hooks) {
                Tensor replaced = hook(g);
                if (replaced.defined()) g = replaced;
              }
            }
            (*captured)[want.index] = g;
          }
        }
      }
      if (!(capture && sink)) {
        // Nodes that saved tensors refuse a second run in SavedTensor::unpack.
        in_grads = n->apply_outputs(grads);
        if (!retain_graph) n->mark_released();
      }
    }
    const auto& edges = n->next_edges();
    for (size_t i = 0; i < edges.size(); ++i) {
      const Edge& e = edges[i];
      if (!e.fn) continue;
      if (i < in_grads.size() && in_grads[i].defined())
        accumulate(e.fn.get(), e.input_nr, validate_grad(*n, i, e, in_grads[i]));
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

void check_no_create_graph(const char* op, bool create_graph) {
  KILN_CHECK(!create_graph, AutogradError, op, ": create_graph=true (higher-order gradients) is not supported: ",
             "backward formulas run without recording, so the returned gradients have no history");
}

void backward(const std::vector<Tensor>& tensors, const std::vector<Tensor>& grad_tensors,
              std::optional<bool> retain_graph, bool create_graph) {
  check_no_create_graph("autograd::backward", create_graph);
  KILN_CHECK(grad_tensors.empty() || grad_tensors.size() == tensors.size(), ValueError, "autograd::backward: got ",
             grad_tensors.size(), " grad_tensors for ", tensors.size(), " tensors");
  run_backward(tensors, grad_tensors, retain_graph.value_or(create_graph));
}

std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs, std::optional<bool> retain_graph,
                         bool create_graph, bool allow_unused) {
  check_no_create_graph("autograd::grad", create_graph);
  KILN_CHECK(grad_outputs.empty() || grad_outputs.size() == outputs.size(), ValueError, "autograd::grad: got ",
             grad_outputs.size(), " grad_outputs for ", outputs.size(), " outputs");
  std::vector<Tensor> grads;
  for (size_t i = 0; i < outputs.size(); ++i)
    grads.push_back(default_root_grad(outputs[i], grad_outputs.empty() ? Tensor() : grad_outputs[i], "autograd::grad"));
  Capture capture;
  std::vector<std::shared_ptr<Node>> keep;
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_CHECK(inputs[i].defined(), ValueError, "autograd::grad: input ", i, " is an undefined tensor");
    KILN_CHECK(inputs[i].requires_grad(), AutogradError, "autograd::grad: input ", i, " does not require grad");
    const Edge e = edge_to(inputs[i]);
    keep.push_back(e.fn);
    capture[e.fn.get()].push_back(CaptureSlot{e.input_nr, i});
  }
  std::vector<Tensor> captured(inputs.size());
  execute(outputs, grads, retain_graph.value_or(create_graph), &capture, &captured);
  for (size_t i = 0; i < inputs.size(); ++i) {
    KILN_CHECK(allow_unused || captured[i].defined(), AutogradError, "autograd::grad: input ", i,
               " was not used to compute the outputs (pass allow_unused=true)");
  }
  return captured;
}

}  // namespace kiln::autograd
