// Backward formula of scaled_dot_product_attention (src/ops/attention.cpp):
// the backend's fused attention_backward, which recomputes the attention
// probabilities tile by tile from the saved log-sum-exp (and the dropout
// mask from the saved Philox state) instead of keeping them.
#pragma once
#include "autograd/node.h"
#include "backend/backend.h"

namespace kiln::autograd {

struct AttentionBackward : Node {
  SavedTensor q, k, v;    // [B, H, T, D], rows contiguous (ops/attention_layout.h)
  SavedTensor mask;       // [B, H, Tq, Tk] (strided) or undefined
  SavedTensor out, lse;   // the forward's output [B, H, Tq, Dv] and lse [B, H, Tq]
  detail::AttentionParams params;
  Shape q_sizes, k_sizes, v_sizes;  // the inputs' own shapes
  std::string name() const override { return "ScaledDotProductAttentionBackward"; }
  // Inputs: (q, k, v).
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    q.reset();
    k.reset();
    v.reset();
    mask.reset();
    out.reset();
    lse.reset();
  }
};

}  // namespace kiln::autograd
