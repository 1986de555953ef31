// A node of the backward graph: one recorded op. A built-in op has one
// output, so its node maps the gradient of that output to the gradients of
// its inputs; a custom autograd::Function may have several outputs, and its
// node receives one gradient per output (num_outputs, apply_outputs).
#pragma once
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::autograd {

class Node;

// Where an input's gradient goes, and what that input looked like (the
// engine checks every returned gradient against it).
struct Edge {
  std::shared_ptr<Node> fn;  // null: the input needs no gradient
  uint32_t input_nr = 0;     // which of fn's outputs this input is
  Shape sizes;
  DType dtype = kFloat32;
  Device device;
};

class Node {
 public:
  Node();
  virtual ~Node() = default;
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;

  virtual std::string name() const = 0;
  // Gradients for each input (next_edges order), given the output's gradient.
  // An undefined tensor means "no gradient" (zero).
  virtual std::vector<Tensor> apply(const Tensor& grad_output) = 0;
  // Nodes with several outputs override both: grad_outputs[k] is the
  // gradient of output k (undefined when none reached it).
  virtual size_t num_outputs() const { return 1; }
  virtual std::vector<Tensor> apply_outputs(const std::vector<Tensor>& grad_outputs) {
    return apply(grad_outputs[0]);
  }
  // Frees saved tensors after a backward without retain_graph.
  virtual void release_saved() {}

  const std::vector<Edge>& next_edges() const { return next_edges_; }
  void set_next_edges(std::vector<Edge> edges) { next_edges_ = std::move(edges); }
  bool needs_input_grad(size_t i) const { return i < next_edges_.size() && next_edges_[i].fn != nullptr; }
  uint64_t sequence_nr() const { return sequence_nr_; }
  bool released() const { return released_; }
  void mark_released() { released_ = true; release_saved(); }

  // Hooks on the gradient flowing into this node (the tensor hooks of its
  // output number `output_nr`).
  size_t add_pre_hook(std::function<Tensor(const Tensor&)> hook, uint32_t output_nr = 0);
  bool remove_pre_hook(size_t handle);
  Tensor run_pre_hooks(Tensor grad, uint32_t output_nr = 0) const;

 private:
  std::vector<Edge> next_edges_;
  uint64_t sequence_nr_;
  bool released_ = false;
  struct PreHook {
    size_t handle;
    uint32_t output_nr;
    std::function<Tensor(const Tensor&)> fn;
  };
  std::vector<PreHook> pre_hooks_;
};

// The sink of a leaf: adds the incoming gradient into leaf.grad().
class AccumulateGrad : public Node {
 public:
  explicit AccumulateGrad(std::shared_ptr<detail::TensorImpl> leaf) : leaf_(std::move(leaf)) {}
  std::string name() const override { return "AccumulateGrad"; }
  std::vector<Tensor> apply(const Tensor& grad_output) override;
  const std::shared_ptr<detail::TensorImpl>& leaf() const { return leaf_; }

 private:
  std::shared_ptr<detail::TensorImpl> leaf_;
};

// True when `grad` is a dense tensor that covers all of its storage, alone
// (it may be a view whose base is gone: linear's weight gradient is the
// transpose of a transposed product), has no autograd history, and is held
// by no handle beyond the `refs` the caller knows of, so no one else can
// read or write it: AccumulateGrad makes it a .grad(), the engine sums a
// second gradient into it in place.
bool can_take_over(const Tensor& grad, long refs);

// A tensor saved for backward. Holds a history-free alias (no reference
// cycle with the node) and the storage version at save time, so a later
// in-place write is detected instead of giving a silently wrong gradient.
class SavedTensor {
 public:
  SavedTensor() = default;
  explicit SavedTensor(const Tensor& t);
  // Throws AutogradError if the graph was freed or the tensor was modified in place.
  Tensor unpack(const Node& owner) const;
  void reset() { data_ = Tensor(); }
  bool defined() const { return was_defined_; }

 private:
  Tensor data_;
  uint32_t version_ = 0;
  bool was_defined_ = false;
};

// --- recording (used by src/ops) ---------------------------------------------
// True when grad mode is on and any of the tensors requires grad.
bool needs_grad(std::initializer_list<const Tensor*> inputs);
bool needs_grad(const std::vector<Tensor>& inputs);
// Connects node to the inputs and makes it out's grad_fn.
void set_history(Tensor& out, const std::shared_ptr<Node>& node, std::initializer_list<const Tensor*> inputs);
void set_history(Tensor& out, const std::shared_ptr<Node>& node, const std::vector<Tensor>& inputs);
// The same for the outputs of a node with several (outs[k] is output k).
void set_history_outputs(std::vector<Tensor>& outs, const std::shared_ptr<Node>& node,
                         std::initializer_list<const Tensor*> inputs);
// The AccumulateGrad node of a leaf that requires grad (created once, cached).
std::shared_ptr<Node> grad_accumulator(const Tensor& leaf);
// The edge an op's output uses to reach `t` (null fn if t needs no grad).
Edge edge_to(const Tensor& t);

// Runs the backward pass (src/autograd/engine.cpp).
void run_backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& root_grads, bool retain_graph);
// Throws AutogradError naming op when create_graph is set (not supported).
void check_no_create_graph(const char* op, bool create_graph);

// --- hooks for data-parallel training (src/dist) --------------------------------
// hook(leaf) runs after AccumulateGrad has added a backward's gradient into
// leaf.grad() (PyTorch's register_post_accumulate_grad_hook): the moment a
// parameter's gradient for this backward is complete.
size_t add_post_accumulate_grad_hook(const Tensor& leaf, std::function<void(const Tensor&)> hook);
void remove_post_accumulate_grad_hook(const Tensor& leaf, size_t handle);
// Runs fn once the backward pass now running on this thread has finished
// every node (PyTorch's queue_callback); callbacks run in the order queued.
// Throws AutogradError when no backward is running.
void queue_callback(std::function<void()> fn);
// True inside Tensor::backward() (where queue_callback works); false
// outside and inside autograd::grad(), which leaves .grad() alone.
bool in_backward_pass();

}  // namespace kiln::autograd
