// Backward formula of conv2d (src/ops/conv2d.cpp): the backend's fused
// conv2d_backward computes the input, weight and bias gradients in one call.
#pragma once
#include "autograd/node.h"
#include "backend/backend.h"

namespace kiln::autograd {

struct Conv2dBackward : Node {
  SavedTensor input, weight;  // contiguous, as passed to the forward
  detail::Conv2dParams params;
  bool has_bias = false;
  std::string name() const override { return "Conv2dBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { input.reset(); weight.reset(); }
};

}  // namespace kiln::autograd
