// Backward formula of cross_entropy (src/ops/cross_entropy.cpp): per-row
// losses of logits [M,C] computed by the fused backend primitive; the
// gradient comes from Backend::cross_entropy_backward, which recomputes
// softmax from the saved logsumexp. Not twice differentiable.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

struct FusedCrossEntropyBackward : Node {
  SavedTensor logits;  // [M,C] contiguous, detached
  SavedTensor target;  // int64 [M] contiguous, ignore_index kept
  SavedTensor lse;     // [M] opmath dtype, logsumexp per row
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

}  // namespace kiln::autograd
