// Backward formula of batch_norm and batch_norm_relu (src/ops/batch_norm.cpp):
// the backend's fused batch_norm_backward gives the input, weight and bias
// gradients at once, relu's mask included for batch_norm_relu.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

struct BatchNormBackward : Node {
  SavedTensor input, weight;           // weight may be undefined (no affine)
  SavedTensor save_mean, save_invstd;  // f32 (f64): batch stats (training) or running ones (eval)
  bool training = true;
  double eps = 1e-5;  // the forward's; cuDNN's backward takes it
  bool has_weight = false, has_bias = false;
  bool relu = false;       // batch_norm_relu: then bias (if any) and the output are saved too
  SavedTensor bias, relu_out;
  std::string name() const override { return relu ? "BatchNormReluBackward" : "BatchNormBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override {
    input.reset();
    weight.reset();
    save_mean.reset();
    save_invstd.reset();
    bias.reset();
    relu_out.reset();
  }
};

}  // namespace kiln::autograd
