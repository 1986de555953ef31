// Backward formulas of max_pool2d and avg_pool2d (src/ops/pool2d.cpp).
#pragma once
#include "autograd/node.h"
#include "backend/backend.h"

namespace kiln::autograd {

// The gradient goes to the element each window picked (saved indices).
struct MaxPool2dBackward : Node {
  SavedTensor indices;  // int64 [N,C,Ho,Wo]: flat h*W+w in the input plane
  Shape input_sizes;
  std::string name() const override { return "MaxPool2dBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { indices.reset(); }
};

// Each window spreads its gradient evenly over the elements it averaged.
struct AvgPool2dBackward : Node {
  detail::Pool2dParams params;
  Shape input_sizes;
  std::string name() const override { return "AvgPool2dBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

}  // namespace kiln::autograd
