// Backward formula of conv_transpose2d (src/ops/conv_transpose2d.cpp), which
// is conv2d's input gradient: its own input gradient is a conv2d forward of
// the incoming gradient, and its weight gradient is conv2d's weight gradient
// with the roles of input and output exchanged.
#pragma once
#include "autograd/node.h"
#include "backend/backend.h"

namespace kiln::autograd {

struct ConvTranspose2dBackward : Node {
  SavedTensor input, weight;  // contiguous, as passed to the forward (bias is added by ops)
  detail::Conv2dParams params;
  std::string name() const override { return "ConvTranspose2dBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { input.reset(); weight.reset(); }
};

}  // namespace kiln::autograd
