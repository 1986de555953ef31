// Backward formulas of the batched matrix product and of linear
// (src/ops/linalg.cpp).
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

// out = a @ b on [B,M,K] x [B,K,N]: ga = g @ b^T, gb = a^T @ g.
// An input that was a transposed view (linear's weight.t()) gets its
// gradient in the same layout, computed as (b g^T)^T or (g^T a)^T, so the
// gradient that reaches the parameter through the transpose is contiguous:
// no strided copy when it is accumulated, and a contiguous optimizer step.
struct BmmBackward : Node {
  SavedTensor a, b;
  bool a_column_major = false, b_column_major = false;
  std::string name() const override { return "BmmBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { a.reset(); b.reset(); }
};

// out = x2 @ weight^T (+ bias) on x2 = x seen as [rows, in]: gx = g @ weight,
// gweight = g^T @ x2 (contiguous [out, in]), gbias = g summed over rows.
// One node where matmul + add recorded a transpose, a product, views and an
// add.
struct LinearBackward : Node {
  SavedTensor input2d, weight;
  Shape input_shape;
  bool has_bias = false;
  std::string name() const override { return "LinearBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    input2d.reset();
    weight.reset();
  }
};

}  // namespace kiln::autograd
