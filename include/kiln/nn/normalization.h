// Normalisation over the trailing dims of each example: nn::LayerNorm and
// nn::RMSNorm (torch.nn.LayerNorm / RMSNorm). BatchNorm is in batch_norm.h.
#pragma once
#include <optional>
#include <utility>

#include "kiln/nn/module.h"

namespace kiln::nn {

// LayerNormOptions({768}).eps(1e-5).elementwise_affine(true): normalized_shape
// is the input's trailing dims. bias(false) keeps the gain and drops the
// shift (PyTorch's LayerNorm(bias=False)).
class LayerNormOptions {
 public:
  LayerNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT: as LibTorch
  LayerNormOptions& normalized_shape(Shape v) { normalized_shape_ = std::move(v); return *this; }
  LayerNormOptions& eps(double v) { eps_ = v; return *this; }
  LayerNormOptions& elementwise_affine(bool v) { elementwise_affine_ = v; return *this; }
  LayerNormOptions& bias(bool v) { bias_ = v; return *this; }
  const Shape& normalized_shape() const { return normalized_shape_; }
  double eps() const { return eps_; }
  bool elementwise_affine() const { return elementwise_affine_; }
  bool bias() const { return bias_; }

 private:
  Shape normalized_shape_;
  double eps_ = 1e-5;
  bool elementwise_affine_ = true;
  bool bias_ = true;
};

class LayerNormImpl : public Cloneable<LayerNormImpl> {
 public:
  explicit LayerNormImpl(const LayerNormOptions& options);
  // x [..., normalized_shape] -> the same shape.
  Tensor forward(const Tensor& x);
  void reset() override;
  // weight ones, bias zeros.
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  LayerNormOptions options;
  Tensor weight;  // normalized_shape, or undefined without elementwise_affine
  Tensor bias;    // normalized_shape, or undefined
};
using LayerNorm = ModuleHolder<LayerNormImpl>;

// RMSNormOptions({768}).eps(1e-6): eps unset means the machine epsilon of the
// input's dtype, as PyTorch.
class RMSNormOptions {
 public:
  RMSNormOptions(Shape normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}  // NOLINT: as LibTorch
  RMSNormOptions& normalized_shape(Shape v) { normalized_shape_ = std::move(v); return *this; }
  RMSNormOptions& eps(std::optional<double> v) { eps_ = v; return *this; }
  RMSNormOptions& elementwise_affine(bool v) { elementwise_affine_ = v; return *this; }
  const Shape& normalized_shape() const { return normalized_shape_; }
  const std::optional<double>& eps() const { return eps_; }
  bool elementwise_affine() const { return elementwise_affine_; }

 private:
  Shape normalized_shape_;
  std::optional<double> eps_;
  bool elementwise_affine_ = true;
};

class RMSNormImpl : public Cloneable<RMSNormImpl> {
 public:
  explicit RMSNormImpl(const RMSNormOptions& options);
  Tensor forward(const Tensor& x);
  void reset() override;
  void reset_parameters();  // weight ones
  void pretty_print(std::ostream& os) const override;

  RMSNormOptions options;
  Tensor weight;  // normalized_shape, or undefined without elementwise_affine
};
using RMSNorm = ModuleHolder<RMSNormImpl>;

}  // namespace kiln::nn
