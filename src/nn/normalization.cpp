#include "kiln/nn/normalization.h"

#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/transformer.h"

namespace kiln::nn {

namespace {

void check_normalized_shape(const char* who, const Shape& shape) {
  KILN_CHECK(!shape.empty(), ValueError, who, ": normalized_shape must name at least one dim, got []");
  for (int64_t d : shape)
    KILN_CHECK(d > 0, ValueError, who, ": normalized_shape must be positive, got ", shape_str(shape));
}

void print_shape_and_eps(std::ostream& os, const char* who, const Shape& shape) {
  os << who << "(";
  for (size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
  os << (shape.size() == 1 ? "," : "");
}

}  // namespace

LayerNormImpl::LayerNormImpl(const LayerNormOptions& o) : Cloneable("LayerNorm"), options(o) { reset(); }

void LayerNormImpl::reset() {
  check_normalized_shape("LayerNorm", options.normalized_shape());
  const bool affine = options.elementwise_affine();
  weight = affine ? register_parameter("weight", empty(options.normalized_shape())) : Tensor();
  bias = affine && options.bias() ? register_parameter("bias", empty(options.normalized_shape())) : Tensor();
  reset_parameters();
}

void LayerNormImpl::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
  if (bias.defined()) init::zeros_(bias);
}

Tensor LayerNormImpl::forward(const Tensor& x) {
  return layer_norm(x, options.normalized_shape(), weight, bias, options.eps());
}

void LayerNormImpl::pretty_print(std::ostream& os) const {
  print_shape_and_eps(os, "LayerNorm", options.normalized_shape());
  os << " eps=" << options.eps() << ", elementwise_affine=" << (options.elementwise_affine() ? "true" : "false");
  if (options.elementwise_affine() && !options.bias()) os << ", bias=false";
  os << ")";
}

RMSNormImpl::RMSNormImpl(const RMSNormOptions& o) : Cloneable("RMSNorm"), options(o) { reset(); }

void RMSNormImpl::reset() {
  check_normalized_shape("RMSNorm", options.normalized_shape());
  weight = options.elementwise_affine() ? register_parameter("weight", empty(options.normalized_shape())) : Tensor();
  reset_parameters();
}

void RMSNormImpl::reset_parameters() {
  if (weight.defined()) init::ones_(weight);
}

Tensor RMSNormImpl::forward(const Tensor& x) { return rms_norm(x, options.normalized_shape(), weight, options.eps()); }

void RMSNormImpl::pretty_print(std::ostream& os) const {
  print_shape_and_eps(os, "RMSNorm", options.normalized_shape());
  os << " eps=";
  if (options.eps()) os << *options.eps();
  else os << "None";
  os << ", elementwise_affine=" << (options.elementwise_affine() ? "true" : "false") << ")";
}

}  // namespace kiln::nn
