// Backward formula of layer_norm and rms_norm (src/ops/layer_norm.cpp): the
// backend's fused layer_norm_backward gives the input, weight and bias
// gradients in one pass over the rows, from the forward's statistics.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

struct LayerNormBackward : Node {
  SavedTensor input;        // [R, n], contiguous
  SavedTensor weight;       // [n] or undefined
  SavedTensor mean, rstd;   // [R], f32 (f64 for f64 input); mean undefined for rms
  Shape input_sizes, param_sizes;
  bool rms = false;
  bool has_weight = false, has_bias = false;
  std::string name() const override { return rms ? "RmsNormBackward" : "LayerNormBackward"; }
  // Inputs: (x[, weight][, bias]).
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    input.reset();
    weight.reset();
    mean.reset();
    rstd.reset();
  }
};

}  // namespace kiln::autograd
