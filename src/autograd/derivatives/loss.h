// Backward formulas of the fused losses (src/ops/loss.cpp). Both produce
// per-element losses; reductions are ordinary ops recorded after them.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

// Per-row cross entropy of logits [M,C]: d loss_i / d logits_i = (softmax_i - q_i) * valid_i,
// q = (1-e)*onehot(target) + e/C.
struct CrossEntropyBackward : Node {
  SavedTensor log_probs;  // [M,C], log_softmax of the logits
  SavedTensor target;     // int64 [M], ignored rows replaced by 0
  SavedTensor valid;      // [M] in the logits' dtype: 1 for counted rows, 0 for ignored
  double label_smoothing = 0;
  std::string name() const override { return "CrossEntropyBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    log_probs.reset();
    target.reset();
    valid.reset();
  }
};

// Per-row cross entropy of 2-D logits [N,C] computed by the fused backend
// primitive; the gradient comes from Backend::cross_entropy_backward, which
// recomputes softmax from the saved logsumexp. Not twice differentiable.
struct FusedCrossEntropyBackward : Node {
  SavedTensor logits;  // [N,C] contiguous, detached
  SavedTensor target;  // int64 [N] contiguous, ignore_index kept
  SavedTensor lse;     // [N] opmath dtype, logsumexp per row
  int64_t ignore_index = -100;
  double label_smoothing = 0;
  std::string name() const override { return "FusedCrossEntropyBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    logits.reset();
    target.reset();
    lse.reset();
  }
};

// Elementwise binary cross entropy with logits. Inputs (x, y[, pos_weight]).
// With w = 1 + (pw-1)*y:  dL/dx = (1-y) - w*sigmoid(-x),
// dL/dy = -x + (pw-1)*softplus(-x),  dL/dpw = y*softplus(-x).
struct BceWithLogitsBackward : Node {
  SavedTensor input, target, pos_weight;
  bool has_pos_weight = false;
  std::string name() const override { return "BceWithLogitsBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    input.reset();
    target.reset();
    pos_weight.reset();
  }
};

// softplus(-x) = log(1 + exp(-x)), written so it neither overflows nor
// loses the linear tail: max(-x, 0) + log(1 + exp(-|x|)).
Tensor softplus_neg(const Tensor& x);

}  // namespace kiln::autograd
