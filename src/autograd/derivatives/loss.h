// Backward formulas of the losses of src/ops/loss.cpp (cross_entropy's is
// derivatives/cross_entropy.h). They produce per-element losses;
// reductions are ordinary ops recorded after them.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

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
