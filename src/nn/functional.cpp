// nn::functional: options in, op calls out. The only arithmetic here is what
// LibTorch's functional layer adds over the ops: class weights for the
// class losses, elementwise weights for BCE-with-logits, and inplace.
#include "kiln/nn/functional.h"

#include "core/tensor_checks.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln {

const char* reduction_name(Reduction r) {
  switch (r) {
    case Reduction::None: return "none";
    case Reduction::Sum: return "sum";
    case Reduction::Mean: break;
  }
  return "mean";
}

}  // namespace kiln

namespace kiln::nn::functional {

namespace {

// A class weight must be a 1-D floating tensor of C entries on the input's device.
Tensor checked_class_weight(const char* op, const Tensor& input, const Tensor& weight) {
  KILN_CHECK(input.dim() >= 2, ShapeError, op, ": a class weight needs input [N,C,...], got ",
             detail::describe(input));
  const int64_t C = input.size(1);
  detail::check_same_device(op, {&input, &weight});
  KILN_CHECK(weight.dim() == 1 && weight.size(0) == C, ShapeError, op, ": weight ", detail::describe(weight),
             " must be 1-D with one entry per class (", C, ") of input ", detail::describe(input));
  detail::check_floating(op, weight);
  return weight.to(input.dtype());
}

// weight [C] shaped to broadcast against input [N,C,d1,...].
Tensor along_class_dim(const Tensor& weight, int64_t input_dim) {
  Shape shape(static_cast<size_t>(input_dim), 1);
  shape[1] = weight.size(0);
  return weight.reshape(shape);
}

// The weighted class loss PyTorch computes from log-probabilities logp
// [N,C,...]: per element w[t] * -logp[t] (plus, with label smoothing e,
// (e/C) * sum_c w[c] * -logp[c], and (1-e) on the first term); ignored
// targets give 0; "mean" divides by the sum of w[t] over the others.
Tensor weighted_class_loss(const char* op, const Tensor& logp, const Tensor& target, const Tensor& weight,
                           int64_t ignore_index, double label_smoothing, Reduction reduction) {
  const Tensor w = checked_class_weight(op, logp, weight);
  // nll_loss validates the targets and zeroes ignored rows.
  Tensor loss = kiln::nll_loss(logp, target, ignore_index, "none");
  Tensor valid, safe;
  {
    NoGradGuard no_grad;
    const Tensor t = target.to(kInt64);
    const Tensor ignored = t == Scalar(ignore_index);
    valid = 1.0 - ignored.to(logp.dtype());
    safe = where(ignored, zeros({}, TensorOptions(kInt64).device(t.device())), t);
  }
  const Tensor w_target = index_select(w, 0, safe.flatten()).reshape(target.sizes()) * valid;
  loss = loss * w_target;
  if (label_smoothing > 0) {
    const int64_t C = logp.size(1);
    Tensor smooth = -(logp * along_class_dim(w, logp.dim())).sum({1}) * valid;
    loss = (1.0 - label_smoothing) * loss + (label_smoothing / static_cast<double>(C)) * smooth;
  }
  switch (reduction) {
    case Reduction::None: return loss;
    case Reduction::Sum: return loss.sum();
    case Reduction::Mean: break;
  }
  return loss.sum() / w_target.sum();
}

}  // namespace

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& o) {
  if (!o.weight().defined())
    return kiln::cross_entropy(input, target, o.ignore_index(), o.label_smoothing(), reduction_name(o.reduction()));
  KILN_CHECK(o.label_smoothing() >= 0 && o.label_smoothing() <= 1, ValueError,
             "cross_entropy: label_smoothing must be in [0, 1], got ", o.label_smoothing());
  detail::check_defined("cross_entropy", input);
  return weighted_class_loss("cross_entropy", kiln::log_softmax(input, 1), target, o.weight(), o.ignore_index(),
                             o.label_smoothing(), o.reduction());
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& o) {
  if (!o.weight().defined()) return kiln::nll_loss(input, target, o.ignore_index(), reduction_name(o.reduction()));
  detail::check_defined("nll_loss", input);
  return weighted_class_loss("nll_loss", input, target, o.weight(), o.ignore_index(), 0.0, o.reduction());
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& o) {
  return kiln::mse_loss(input, target, reduction_name(o.reduction()));
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& o) {
  if (!o.weight().defined())
    return kiln::binary_cross_entropy_with_logits(input, target, o.pos_weight(), reduction_name(o.reduction()));
  const char* op = "binary_cross_entropy_with_logits";
  detail::check_defined(op, input);
  detail::check_same_device(op, {&input, &o.weight()});
  detail::check_floating(op, o.weight());
  broadcast_shapes(o.weight().sizes(), input.sizes(), op);
  Tensor loss = kiln::binary_cross_entropy_with_logits(input, target, o.pos_weight(), "none") *
                o.weight().to(input.dtype());
  KILN_CHECK(loss.sizes() == input.sizes(), ShapeError, op, ": weight ", detail::describe(o.weight()),
             " must broadcast to the input ", detail::describe(input), " without enlarging it");
  switch (o.reduction()) {
    case Reduction::None: return loss;
    case Reduction::Sum: return loss.sum();
    case Reduction::Mean: break;
  }
  return loss.mean();
}

Tensor relu(Tensor x, const ReLUFuncOptions& o) {
  Tensor y = kiln::relu(x);
  if (!o.inplace()) return y;
  x.copy_(y);
  return x;
}

Tensor gelu(const Tensor& x, const GELUFuncOptions& o) { return kiln::gelu(x, o.approximate()); }

Tensor dropout(Tensor x, const DropoutFuncOptions& o) {
  Tensor y = kiln::dropout(x, o.p(), o.training());
  if (!o.inplace()) return y;
  if (!y.is_same(x)) x.copy_(y);
  return x;
}

Tensor softmax(const Tensor& x, const SoftmaxFuncOptions& o) {
  return kiln::softmax(o.dtype() ? x.to(*o.dtype()) : x, o.dim());
}

Tensor log_softmax(const Tensor& x, const LogSoftmaxFuncOptions& o) {
  return kiln::log_softmax(o.dtype() ? x.to(*o.dtype()) : x, o.dim());
}

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias) {
  return kiln::linear(input, weight, bias);
}

Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& o) {
  return kiln::conv2d(input, weight, o.bias(), o.stride(), o.padding(), o.dilation(), o.groups());
}

Tensor conv1d(const Tensor& input, const Tensor& weight, const Conv1dFuncOptions& o) {
  const char* op = "conv1d";
  detail::check_defined(op, input);
  detail::check_defined(op, weight, "weight");
  KILN_CHECK(input.dim() == 2 || input.dim() == 3, ShapeError, op, ": input must be [N,C,L] or [C,L], got ",
             detail::describe(input));
  KILN_CHECK(weight.dim() == 3, ShapeError, op, ": weight must be [out, in/groups, k], got ", detail::describe(weight));
  const bool batched = input.dim() == 3;
  const Tensor x = (batched ? input : input.unsqueeze(0)).unsqueeze(2);  // [N,C,1,L]
  Tensor y = kiln::conv2d(x, weight.unsqueeze(2), o.bias(), Size2(1, o.stride()), Size2(0, o.padding()),
                          Size2(1, o.dilation()), o.groups())
                 .squeeze(2);
  return batched ? y : y.squeeze(0);
}

Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& o) {
  return kiln::max_pool2d(input, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode());
}

Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& o) {
  return kiln::avg_pool2d(input, o.kernel_size(), o.stride(), o.padding(), o.ceil_mode(), o.count_include_pad());
}

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& o) {
  detail::check_defined("batch_norm", input);
  const Tensor x = input.dim() == 3 ? input.unsqueeze(3) : input;  // [N,C,L] as [N,C,L,1]
  Tensor y = kiln::batch_norm(x, o.weight(), o.bias(), running_mean, running_var, o.training(), o.momentum(), o.eps());
  return input.dim() == 3 ? y.squeeze(3) : y;
}

Tensor one_hot(const Tensor& tensor, int64_t num_classes) { return kiln::one_hot(tensor, num_classes); }

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const ConvTranspose2dFuncOptions& o) {
  return kiln::conv_transpose2d(input, weight, o.bias(), o.stride(), o.padding(), o.output_padding(), o.groups(),
                                o.dilation());
}

Tensor pad(const Tensor& input, const PadFuncOptions& o) {
  const char* mode = "constant";
  switch (o.mode()) {
    case PadMode::Constant: break;
    case PadMode::Reflect: mode = "reflect"; break;
    case PadMode::Replicate: mode = "replicate"; break;
    case PadMode::Circular: mode = "circular"; break;
  }
  return kiln::pad(input, o.pad(), mode, o.value());
}

Tensor interpolate(const Tensor& input, const InterpolateFuncOptions& o) {
  const char* op = "interpolate";
  std::optional<Size2> size;
  std::optional<std::pair<double, double>> scale;
  if (o.size()) {
    const auto& s = *o.size();
    KILN_CHECK(s.size() == 1 || s.size() == 2, ValueError, op, ": size needs 1 or 2 values for a 4-D input, got ",
               s.size());
    size = s.size() == 1 ? Size2(s[0]) : Size2(s[0], s[1]);
  }
  if (o.scale_factor()) {
    const auto& s = *o.scale_factor();
    KILN_CHECK(s.size() == 1 || s.size() == 2, ValueError, op,
               ": scale_factor needs 1 or 2 values for a 4-D input, got ", s.size());
    scale = s.size() == 1 ? std::make_pair(s[0], s[0]) : std::make_pair(s[0], s[1]);
  }
  const bool bilinear = o.mode() == InterpolateMode::Bilinear;
  KILN_CHECK(bilinear || !o.align_corners().has_value(), ValueError, op,
             ": align_corners can only be set with mode kBilinear");
  return kiln::interpolate(input, size, scale, bilinear ? "bilinear" : "nearest", o.align_corners().value_or(false));
}

Tensor group_norm(const Tensor& input, const GroupNormFuncOptions& o) {
  return kiln::group_norm(input, o.num_groups(), o.weight(), o.bias(), o.eps());
}

}  // namespace kiln::nn::functional

namespace kiln::nn::functional {

Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& o) {
  return kiln::layer_norm(input, o.normalized_shape(), o.weight(), o.bias(), o.eps());
}

Tensor embedding(const Tensor& input, const Tensor& weight, const EmbeddingFuncOptions& o) {
  const char* op = "embedding";
  KILN_CHECK(!o.sparse(), ValueError, op, ": sparse=true is not supported (kiln has no sparse tensors)");
  KILN_CHECK(!o.scale_grad_by_freq(), ValueError, op,
             ": scale_grad_by_freq=true is not supported (the gradient of weight is the plain sum of its rows)");
  if (o.max_norm()) {
    detail::check_defined(op, input);
    detail::check_defined(op, weight, "weight");
    KILN_CHECK(weight.dim() == 2, ShapeError, op, ": weight must be [num_embeddings, dim], got ",
               detail::describe(weight));
    KILN_CHECK(*o.max_norm() >= 0, ValueError, op, ": max_norm must be >= 0, got ", *o.max_norm());
    // LibTorch's embedding_renorm_: each row the ids pick whose norm exceeds
    // max_norm is scaled by max_norm / (norm + 1e-7), in place and unrecorded.
    // A row picked twice is written twice with the same value.
    NoGradGuard no_grad;
    const Tensor ids = input.flatten();
    const Tensor rows = weight.index_select(0, ids);
    const Tensor norms = rows.norm(o.norm_type(), {1}, /*keepdim=*/true);
    const Tensor scale = where(norms > *o.max_norm(), *o.max_norm() / (norms + 1e-7), ones_like(norms));
    Tensor w = weight;
    w.index_put_({ids}, rows * scale);
  }
  return kiln::embedding(weight, input, o.padding_idx());
}

}  // namespace kiln::nn::functional
