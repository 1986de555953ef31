// Backward formula of the batched matrix product (src/ops/linalg.cpp).
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

// out = a @ b on [B,M,K] x [B,K,N]: ga = g @ b^T, gb = a^T @ g.
struct BmmBackward : Node {
  SavedTensor a, b;
  std::string name() const override { return "BmmBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { a.reset(); b.reset(); }
};

}  // namespace kiln::autograd
