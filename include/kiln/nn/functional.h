// kiln::nn::functional: LibTorch's torch::nn::functional, the stateless
// forms of the layers, each taking a *FuncOptions as LibTorch's do:
//
//   namespace F = kiln::nn::functional;
//   auto loss = F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().label_smoothing(0.1));
//   auto y = F::max_pool2d(F::relu(x), F::MaxPool2dFuncOptions(2));
//
// These are thin forwards to the ops (kiln/ops/nn.h), which hold the
// validation, the kernels and the derivatives; what is written here is only
// what LibTorch's functional adds on top (class weights, inplace, options).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/core/tensor.h"
#include "kiln/nn/activation.h"
#include "kiln/nn/batch_norm.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/dropout.h"
#include "kiln/nn/enums.h"
#include "kiln/nn/loss_options.h"
#include "kiln/nn/pooling.h"
#include "kiln/nn/upsampling.h"
#include "kiln/ops/image.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/transformer.h"

namespace kiln::nn::functional {

// --- losses ------------------------------------------------------------------
using CrossEntropyFuncOptions = CrossEntropyLossOptions;
using NLLLossFuncOptions = NLLLossOptions;
using MSELossFuncOptions = MSELossOptions;
using BinaryCrossEntropyWithLogitsFuncOptions = BCEWithLogitsLossOptions;

// input [N,C] or [N,C,d1,...] logits, target int64 class indices [N] or [N,d1,...].
// With a class weight w, "mean" divides by the sum of w[target] over the
// rows that are not ignored, as PyTorch does.
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& options = {});
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& options = {});
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& options = {});
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& options = {});

// --- activations and dropout ----------------------------------------------------
// inplace writes the result into x (x must not be a leaf that requires grad).
class ReLUFuncOptions {
 public:
  ReLUFuncOptions(bool inplace = false) : inplace_(inplace) {}  // NOLINT: as LibTorch
  ReLUFuncOptions& inplace(bool v) { inplace_ = v; return *this; }
  bool inplace() const { return inplace_; }

 private:
  bool inplace_;
};
Tensor relu(Tensor x, const ReLUFuncOptions& options = {});

using GELUFuncOptions = GELUOptions;
Tensor gelu(const Tensor& x, const GELUFuncOptions& options = {});

class DropoutFuncOptions {
 public:
  DropoutFuncOptions& p(double v) { p_ = v; return *this; }
  DropoutFuncOptions& training(bool v) { training_ = v; return *this; }
  DropoutFuncOptions& inplace(bool v) { inplace_ = v; return *this; }
  double p() const { return p_; }
  bool training() const { return training_; }
  bool inplace() const { return inplace_; }

 private:
  double p_ = 0.5;
  bool training_ = true, inplace_ = false;
};
Tensor dropout(Tensor x, const DropoutFuncOptions& options = {});

// softmax / log_softmax over options.dim(); with a dtype the input is cast first.
class SoftmaxFuncOptions {
 public:
  SoftmaxFuncOptions(int64_t dim) : dim_(dim) {}  // NOLINT: as LibTorch
  SoftmaxFuncOptions& dim(int64_t v) { dim_ = v; return *this; }
  SoftmaxFuncOptions& dtype(std::optional<DType> v) { dtype_ = v; return *this; }
  int64_t dim() const { return dim_; }
  std::optional<DType> dtype() const { return dtype_; }

 private:
  int64_t dim_;
  std::optional<DType> dtype_;
};
using LogSoftmaxFuncOptions = SoftmaxFuncOptions;
Tensor softmax(const Tensor& x, const SoftmaxFuncOptions& options);
Tensor log_softmax(const Tensor& x, const LogSoftmaxFuncOptions& options);

// --- layers ------------------------------------------------------------------
Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor());

class Conv2dFuncOptions {
 public:
  Conv2dFuncOptions& bias(const Tensor& v) { bias_ = v; return *this; }
  Conv2dFuncOptions& stride(Size2 v) { stride_ = v; return *this; }
  Conv2dFuncOptions& padding(Size2 v) { padding_ = v; return *this; }
  Conv2dFuncOptions& dilation(Size2 v) { dilation_ = v; return *this; }
  Conv2dFuncOptions& groups(int64_t v) { groups_ = v; return *this; }
  const Tensor& bias() const { return bias_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  Size2 dilation() const { return dilation_; }
  int64_t groups() const { return groups_; }

 private:
  Tensor bias_;
  Size2 stride_ = 1, padding_ = 0, dilation_ = 1;
  int64_t groups_ = 1;
};
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {});

class Conv1dFuncOptions {
 public:
  Conv1dFuncOptions& bias(const Tensor& v) { bias_ = v; return *this; }
  Conv1dFuncOptions& stride(int64_t v) { stride_ = v; return *this; }
  Conv1dFuncOptions& padding(int64_t v) { padding_ = v; return *this; }
  Conv1dFuncOptions& dilation(int64_t v) { dilation_ = v; return *this; }
  Conv1dFuncOptions& groups(int64_t v) { groups_ = v; return *this; }
  const Tensor& bias() const { return bias_; }
  int64_t stride() const { return stride_; }
  int64_t padding() const { return padding_; }
  int64_t dilation() const { return dilation_; }
  int64_t groups() const { return groups_; }

 private:
  Tensor bias_;
  int64_t stride_ = 1, padding_ = 0, dilation_ = 1, groups_ = 1;
};
// input [N,C,L] (or [C,L]), weight [O, C/groups, k]: conv2d over [N,C,1,L].
Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& options = {});

using MaxPool2dFuncOptions = MaxPool2dOptions;
using AvgPool2dFuncOptions = AvgPool2dOptions;
Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options);
Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options);

// LibTorch's momentum is optional; kiln's is a number (0.1 by default).
class BatchNormFuncOptions {
 public:
  BatchNormFuncOptions& weight(const Tensor& v) { weight_ = v; return *this; }
  BatchNormFuncOptions& bias(const Tensor& v) { bias_ = v; return *this; }
  BatchNormFuncOptions& training(bool v) { training_ = v; return *this; }
  BatchNormFuncOptions& momentum(double v) { momentum_ = v; return *this; }
  BatchNormFuncOptions& eps(double v) { eps_ = v; return *this; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  bool training() const { return training_; }
  double momentum() const { return momentum_; }
  double eps() const { return eps_; }

 private:
  Tensor weight_, bias_;
  bool training_ = false;
  double momentum_ = 0.1, eps_ = 1e-5;
};
// input [N,C], [N,C,L] or [N,C,H,W].
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {});

// int64 [..., num_classes]; num_classes = -1 infers max + 1.
Tensor one_hot(const Tensor& tensor, int64_t num_classes = -1);

class ConvTranspose2dFuncOptions {
 public:
  ConvTranspose2dFuncOptions& bias(const Tensor& v) { bias_ = v; return *this; }
  ConvTranspose2dFuncOptions& stride(Size2 v) { stride_ = v; return *this; }
  ConvTranspose2dFuncOptions& padding(Size2 v) { padding_ = v; return *this; }
  ConvTranspose2dFuncOptions& output_padding(Size2 v) { output_padding_ = v; return *this; }
  ConvTranspose2dFuncOptions& groups(int64_t v) { groups_ = v; return *this; }
  ConvTranspose2dFuncOptions& dilation(Size2 v) { dilation_ = v; return *this; }
  const Tensor& bias() const { return bias_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  Size2 output_padding() const { return output_padding_; }
  int64_t groups() const { return groups_; }
  Size2 dilation() const { return dilation_; }

 private:
  Tensor bias_;
  Size2 stride_ = 1, padding_ = 0, output_padding_ = 0;
  int64_t groups_ = 1;
  Size2 dilation_ = 1;
};
// weight [C_in, C_out/groups, kh, kw].
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const ConvTranspose2dFuncOptions& options = {});

// PadFuncOptions({left, right, top, bottom}).mode(kiln::kReflect).value(0).
class PadFuncOptions {
 public:
  PadFuncOptions(std::vector<int64_t> pad) : pad_(std::move(pad)) {}  // NOLINT: as LibTorch
  PadFuncOptions& pad(std::vector<int64_t> v) { pad_ = std::move(v); return *this; }
  PadFuncOptions& mode(PadMode v) { mode_ = v; return *this; }
  PadFuncOptions& value(double v) { value_ = v; return *this; }
  const std::vector<int64_t>& pad() const { return pad_; }
  PadMode mode() const { return mode_; }
  double value() const { return value_; }

 private:
  std::vector<int64_t> pad_;
  PadMode mode_ = PadMode::Constant;
  double value_ = 0.0;
};
Tensor pad(const Tensor& input, const PadFuncOptions& options);

// InterpolateFuncOptions().size(std::vector<int64_t>{14, 14}).mode(kiln::kBilinear).align_corners(false),
// or .scale_factor(std::vector<double>{2, 2}). Input [N,C,H,W]. One class
// with nn::UpsampleOptions (kiln/nn/upsampling.h): LibTorch's two have the
// same fields apart from interpolate's recompute_scale_factor and
// antialias, which kiln does not have.
using InterpolateFuncOptions = UpsampleOptions;
Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& options = {});

class GroupNormFuncOptions {
 public:
  GroupNormFuncOptions(int64_t num_groups) : num_groups_(num_groups) {}  // NOLINT: as LibTorch
  GroupNormFuncOptions& num_groups(int64_t v) { num_groups_ = v; return *this; }
  GroupNormFuncOptions& weight(const Tensor& v) { weight_ = v; return *this; }
  GroupNormFuncOptions& bias(const Tensor& v) { bias_ = v; return *this; }
  GroupNormFuncOptions& eps(double v) { eps_ = v; return *this; }
  int64_t num_groups() const { return num_groups_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  double eps() const { return eps_; }

 private:
  int64_t num_groups_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};
Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& options);

// LayerNormFuncOptions({C}).weight(w).bias(b).eps(1e-5): the layer_norm op
// (kiln/ops/transformer.h) over the trailing normalized_shape dims.
class LayerNormFuncOptions {
 public:
  LayerNormFuncOptions(std::vector<int64_t> normalized_shape)  // NOLINT: as LibTorch
      : normalized_shape_(std::move(normalized_shape)) {}
  LayerNormFuncOptions& normalized_shape(std::vector<int64_t> v) { normalized_shape_ = std::move(v); return *this; }
  LayerNormFuncOptions& weight(const Tensor& v) { weight_ = v; return *this; }
  LayerNormFuncOptions& bias(const Tensor& v) { bias_ = v; return *this; }
  LayerNormFuncOptions& eps(double v) { eps_ = v; return *this; }
  const std::vector<int64_t>& normalized_shape() const { return normalized_shape_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }
  double eps() const { return eps_; }

 private:
  std::vector<int64_t> normalized_shape_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};
Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options);

// EmbeddingFuncOptions().padding_idx(0).max_norm(1.0).norm_type(2.0): the
// embedding op (kiln/ops/transformer.h). With max_norm the rows input picks
// are first renormalised in place in weight (without recording gradients)
// to a norm of at most max_norm, as LibTorch's embedding_renorm_.
// scale_grad_by_freq and sparse are refused (ValueError): kiln has neither
// the frequency-scaled gradient nor sparse tensors.
class EmbeddingFuncOptions {
 public:
  EmbeddingFuncOptions& padding_idx(std::optional<int64_t> v) { padding_idx_ = v; return *this; }
  EmbeddingFuncOptions& max_norm(std::optional<double> v) { max_norm_ = v; return *this; }
  EmbeddingFuncOptions& norm_type(double v) { norm_type_ = v; return *this; }
  EmbeddingFuncOptions& scale_grad_by_freq(bool v) { scale_grad_by_freq_ = v; return *this; }
  EmbeddingFuncOptions& sparse(bool v) { sparse_ = v; return *this; }
  std::optional<int64_t> padding_idx() const { return padding_idx_; }
  std::optional<double> max_norm() const { return max_norm_; }
  double norm_type() const { return norm_type_; }
  bool scale_grad_by_freq() const { return scale_grad_by_freq_; }
  bool sparse() const { return sparse_; }

 private:
  std::optional<int64_t> padding_idx_;
  std::optional<double> max_norm_;
  double norm_type_ = 2.0;
  bool scale_grad_by_freq_ = false, sparse_ = false;
};
// input: int64/int32 ids of any shape; weight [num_embeddings, dim]. LibTorch's argument order (ids first).
Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& options = {});

}  // namespace kiln::nn::functional
