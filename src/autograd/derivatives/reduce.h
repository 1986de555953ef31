// Backward formulas of the reductions (src/ops/reduce.cpp).
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

// sum over dims: the gradient is broadcast back.
struct SumBackward : Node {
  Shape input_sizes;
  Shape dims;  // reduced dims (wrapped, sorted)
  bool keepdim = false;
  std::string name() const override { return "SumBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

// amax/amin: the gradient is split evenly between the tied extremes.
struct AmaxAminBackward : Node {
  SavedTensor input, result;  // result kept with keepdim shape
  Shape dims;
  bool keepdim = false;
  bool is_max = true;
  std::string name() const override { return is_max ? "AmaxBackward" : "AminBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { input.reset(); result.reset(); }
};

// max/min over one dim with indices: the gradient goes to the chosen index.
struct MaxMinDimBackward : Node {
  SavedTensor indices;  // keepdim shape
  Shape input_sizes;
  int64_t dim = 0;
  bool keepdim = false;
  std::string name() const override { return "MaxMinDimBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { indices.reset(); }
};

// norm: d||x||_p/dx = sign(x) |x|^(p-1) / ||x||^(p-1); zero where the norm is zero.
struct NormBackward : Node {
  SavedTensor input, result;  // result kept with keepdim shape
  Shape dims;
  bool keepdim = false;
  double p = 2;
  std::string name() const override { return "NormBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { input.reset(); result.reset(); }
};

}  // namespace kiln::autograd
