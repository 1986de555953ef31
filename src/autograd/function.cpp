// Custom autograd functions (kiln/autograd/function.h): the node that calls a
// user's backward, and the recording around a user's forward.
#include "kiln/autograd/function.h"

#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>
#include <memory>

#include "autograd/node.h"
#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "kiln/ops/factory.h"

namespace kiln {
namespace {

// "ScaledTanh" from typeid's mangled name (the mangled name if that fails).
std::string demangle(const char* mangled) {
  int status = 0;
  char* readable = abi::__cxa_demangle(mangled, nullptr, nullptr, &status);
  std::string name = (status == 0 && readable != nullptr) ? readable : mangled;
  std::free(readable);
  return name;
}

bool contains(const std::vector<const void*>& set, const Tensor& t) {
  return t.defined() && std::find(set.begin(), set.end(), t.unsafe_impl()) != set.end();
}

}  // namespace
}  // namespace kiln

namespace kiln::autograd {

// --- the context ------------------------------------------------------------------
void AutogradContext::save_for_backward(variable_list to_save) { to_save_ = std::move(to_save); }

variable_list AutogradContext::get_saved_variables() const {
  KILN_CHECK(!released_, AutogradError, name_,
             ": trying to backward through the graph a second time (or to use saved tensors after they were "
             "freed); pass retain_graph=true to the first backward() if you need to");
  variable_list out;
  out.reserve(saved_.size());
  for (size_t i = 0; i < saved_.size(); ++i) {
    if (!saved_defined_[i]) {
      out.emplace_back();
      continue;
    }
    const Tensor& t = saved_[i];
    KILN_CHECK(t.version() == saved_versions_[i], AutogradError, name_, ": saved tensor ", i, " (",
               kiln::detail::describe(t), ") was modified by an in-place operation after forward returned (version ",
               saved_versions_[i], " -> ", t.version(), ")");
    out.push_back(t);
  }
  return out;
}

void AutogradContext::mark_dirty(const variable_list& inputs) {
  for (const Tensor& t : inputs)
    if (t.defined()) dirty_.push_back(t.unsafe_impl());
}

void AutogradContext::mark_non_differentiable(const variable_list& outputs) {
  for (const Tensor& t : outputs)
    if (t.defined()) non_differentiable_.push_back(t.unsafe_impl());
}

bool AutogradContext::needs_input_grad(size_t index) const {
  KILN_CHECK(index < needs_input_grad_.size(), IndexError, name_, ": needs_input_grad(", index, ") but the function has ",
             needs_input_grad_.size(), " tensor inputs");
  return needs_input_grad_[index];
}

// --- the node -------------------------------------------------------------------------
class CustomFunctionNode : public Node {
 public:
  struct OutputInfo {
    bool defined = false;
    Shape sizes;
    DType dtype = kFloat32;
    Device device;
  };

  CustomFunctionNode(std::string name, kiln::detail::FunctionRecorder::BackwardFn backward)
      : name_(std::move(name)), backward_(backward) {
    ctx_.name_ = name_;
  }

  std::string name() const override { return name_; }
  size_t num_outputs() const override { return std::max<size_t>(outputs_.size(), 1); }
  std::vector<Tensor> apply(const Tensor& grad_output) override { return apply_outputs({grad_output}); }
  std::vector<Tensor> apply_outputs(const std::vector<Tensor>& grad_outputs) override;
  void release_saved() override {
    ctx_.released_ = true;
    ctx_.saved_.clear();
  }

  AutogradContext ctx_;
  std::vector<bool> arg_is_tensor_;  // per forward argument (a vector<Tensor> counts each element)
  std::vector<OutputInfo> outputs_;

 private:
  std::string name_;
  kiln::detail::FunctionRecorder::BackwardFn backward_;
};

std::vector<Tensor> CustomFunctionNode::apply_outputs(const std::vector<Tensor>& grad_outputs) {
  variable_list grads(outputs_.size());
  for (size_t k = 0; k < outputs_.size() && k < grad_outputs.size(); ++k) grads[k] = grad_outputs[k];
  if (ctx_.materialize_grads_) {
    for (size_t k = 0; k < outputs_.size(); ++k) {
      const OutputInfo& o = outputs_[k];
      if (!grads[k].defined() && o.defined) grads[k] = zeros(o.sizes, TensorOptions(o.dtype).device(o.device));
    }
  }
  variable_list result = backward_(&ctx_, std::move(grads));

  const size_t num_args = arg_is_tensor_.size();
  if (result.size() > num_args) {
    const bool extras_undefined =
        std::all_of(result.begin() + static_cast<std::ptrdiff_t>(num_args), result.end(),
                    [](const Tensor& t) { return !t.defined(); });
    if (extras_undefined) result.resize(num_args);
  }
  KILN_CHECK(result.size() == num_args, AutogradError, name_, ": backward returned ", result.size(),
             " gradients but forward took ", num_args,
             " arguments (return one per argument, an undefined Tensor for non-tensor ones)");
  std::vector<Tensor> per_input;
  const auto& edges = next_edges();
  for (size_t a = 0; a < num_args; ++a) {
    if (!arg_is_tensor_[a]) {
      KILN_CHECK(!result[a].defined(), AutogradError, name_, ": backward returned a defined gradient at position ", a,
                 ", but forward argument ", a, " is not a tensor");
      continue;
    }
    const size_t i = per_input.size();
    Tensor g = result[a];
    if (g.defined() && i < edges.size()) {
      const Edge& e = edges[i];
      KILN_CHECK(g.sizes() == e.sizes, ShapeError, name_, ": backward returned a gradient of shape ",
                 shape_str(g.sizes()), " for tensor input ", i, " of shape ", shape_str(e.sizes));
      KILN_CHECK(g.device() == e.device, DeviceError, name_, ": backward returned a gradient on ", g.device(),
                 " for tensor input ", i, " on ", e.device);
      if (!e.fn) g = Tensor();  // this input needs no gradient
    }
    per_input.push_back(g);
  }
  return per_input;
}

}  // namespace kiln::autograd

// --- recording ---------------------------------------------------------------------------
namespace kiln::detail {

using autograd::AutogradContext;
using autograd::CustomFunctionNode;
using autograd::Edge;
using autograd::variable_list;

struct FunctionRecorder::State {
  std::shared_ptr<CustomFunctionNode> node;
  variable_list inputs;  // the tensor inputs, in order (undefined for an absent optional)
  bool executable = false;
};

FunctionRecorder::FunctionRecorder(const char* mangled_name, BackwardFn backward) : state_(new State) {
  state_->node = std::make_shared<CustomFunctionNode>(demangle(mangled_name), backward);
}

FunctionRecorder::~FunctionRecorder() { delete state_; }

void FunctionRecorder::add_arg(const Tensor& t) {
  state_->node->arg_is_tensor_.push_back(true);
  state_->inputs.push_back(t);
}

void FunctionRecorder::add_arg(const std::optional<Tensor>& t) { add_arg(t ? *t : Tensor()); }

void FunctionRecorder::add_arg(const std::vector<Tensor>& ts) {
  for (const Tensor& t : ts) add_arg(t);
}

void FunctionRecorder::add_non_tensor() { state_->node->arg_is_tensor_.push_back(false); }

AutogradContext* FunctionRecorder::start() {
  CustomFunctionNode& node = *state_->node;
  state_->executable = autograd::needs_grad(state_->inputs);
  std::vector<Edge> edges;
  for (const Tensor& t : state_->inputs) {
    edges.push_back(state_->executable ? autograd::edge_to(t) : Edge{});
    node.ctx_.needs_input_grad_.push_back(state_->executable && edges.back().fn != nullptr);
  }
  node.set_next_edges(std::move(edges));
  return &node.ctx_;
}

variable_list FunctionRecorder::finish(variable_list outputs) {
  const std::shared_ptr<CustomFunctionNode>& node = state_->node;
  AutogradContext& ctx = node->ctx_;
  auto is_input = [&](const Tensor& t) {
    for (const Tensor& in : state_->inputs)
      if (in.defined() && in.is_same(t)) return true;
    return false;
  };
  for (const Tensor& t : state_->inputs) {
    KILN_CHECK(!contains(ctx.dirty_, t) || std::any_of(outputs.begin(), outputs.end(),
                                                        [&](const Tensor& o) { return o.is_same(t); }),
               AutogradError, node->name(), ": an input marked dirty (", describe(t),
               ") must be returned as an output");
  }
  if (state_->executable) {
    node->outputs_.resize(outputs.size());
    for (size_t k = 0; k < outputs.size(); ++k) {
      Tensor& t = outputs[k];
      if (!t.defined()) continue;
      node->outputs_[k] = {true, t.sizes(), t.dtype(), t.device()};
      const bool dirty = contains(ctx.dirty_, t);
      const bool differentiable = !contains(ctx.non_differentiable_, t) && is_floating(t.dtype());
      if (dirty) {
        // The input was changed in place: its history continues through this node.
        KILN_CHECK(!(t.requires_grad() && t.is_leaf()), AutogradError, node->name(),
                   ": a leaf tensor that requires grad (", describe(t),
                   ") was modified in place (mark_dirty)");
        KILN_CHECK(!(t.unsafe_impl()->is_view && t.requires_grad()), AutogradError, node->name(),
                   ": a view of a tensor that requires grad (", describe(t),
                   ") was modified in place (mark_dirty); clone() it first");
      } else if (is_input(t) || t.requires_grad()) {
        // A new handle, so the input (or a tensor with history of its own) keeps its history.
        t = t.detach();
      }
      auto& meta = t.unsafe_impl()->meta();
      if (differentiable) {
        meta.grad_fn = node;
        meta.output_nr = static_cast<uint32_t>(k);
        meta.requires_grad = true;
      } else if (dirty) {
        meta.grad_fn = nullptr;
        meta.requires_grad = false;
      }
    }
  }
  // Saved tensors are recorded now, after the outputs exist and in-place
  // changes are done, each as a history-free alias (no reference cycle with
  // the node) with its storage version.
  if (state_->executable) {
    for (const Tensor& t : ctx.to_save_) {
      ctx.saved_defined_.push_back(t.defined());
      ctx.saved_.push_back(t.defined() ? t.detach() : Tensor());
      ctx.saved_versions_.push_back(t.defined() ? t.version() : 0);
    }
  }
  ctx.to_save_.clear();
  return outputs;
}

}  // namespace kiln::detail
