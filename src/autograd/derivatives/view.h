// Backward formulas of the view and copy ops (src/ops/view.cpp, copy.cpp).
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

// view, reshape, squeeze, unsqueeze, flatten: same elements, new shape.
struct ReshapeBackward : Node {
  Shape input_sizes;
  std::string name() const override { return "ReshapeBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

struct PermuteBackward : Node {
  Shape dims;
  std::string name() const override { return "PermuteBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

struct ExpandBackward : Node {
  Shape input_sizes;
  std::string name() const override { return "ExpandBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

// slice/narrow (step >= 1) and select (length 0 meaning the dim is removed).
struct SliceBackward : Node {
  Shape input_sizes;
  int64_t dim = 0, start = 0, end = 0, step = 1;
  std::string name() const override { return "SliceBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

struct SelectBackward : Node {
  Shape input_sizes;
  int64_t dim = 0, index = 0;
  std::string name() const override { return "SelectBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

// clone, contiguous, to(dtype): the gradient passes through (the engine
// casts it to the input's dtype).
struct IdentityBackward : Node {
  std::string label = "IdentityBackward";
  std::string name() const override { return label; }
  std::vector<Tensor> apply(const Tensor& grad) override { return {grad}; }
};

struct ToDeviceBackward : Node {
  Device source;
  std::string name() const override { return "ToDeviceBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override { return {grad.to(source)}; }
};

// dst.copy_(src) where dst had history: dst's old value gets no gradient,
// src gets the gradient summed back to its (broadcast) shape.
struct CopyBackward : Node {
  Shape src_sizes;
  Device src_device;
  std::string name() const override { return "CopyBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

}  // namespace kiln::autograd
