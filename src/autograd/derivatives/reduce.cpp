#include "autograd/derivatives/reduce.h"

#include <cmath>

#include "ops/elementwise_internal.h"

#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/op_util.h"

namespace kiln::autograd {

namespace {
// Re-inserts reduced dims of size 1 so the gradient broadcasts to the input.
Tensor unsqueeze_dims(Tensor g, const Shape& dims, bool keepdim) {
  if (keepdim) return g;
  for (int64_t d : dims) g = g.unsqueeze(d);
  return g;
}
}  // namespace

std::vector<Tensor> SumBackward::apply(const Tensor& grad) {
  return {unsqueeze_dims(grad, dims, keepdim).expand(input_sizes)};
}

std::vector<Tensor> AmaxAminBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this), r = result.unpack(*this);
  Tensor mask = eq(x, r).to(grad.dtype());
  Tensor count = sum(mask, dims, /*keepdim=*/true);
  return {unsqueeze_dims(grad, dims, keepdim) * mask / count};
}

std::vector<Tensor> MaxMinDimBackward::apply(const Tensor& grad) {
  Tensor idx = indices.unpack(*this);
  Tensor g = keepdim ? grad : grad.unsqueeze(dim);
  return {scatter_add(zeros(input_sizes, grad.options()), dim, idx, g)};
}

std::vector<Tensor> NormBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this), n = result.unpack(*this);
  Tensor g = unsqueeze_dims(grad, dims, keepdim);
  if (p == 0) return {zeros_like(x)};
  const Tensor zero = zeros_like(n);
  Tensor scale;  // d n / d x, before the mask
  if (std::isinf(p)) {
    // Like amax/amin: split evenly between the tied extremes.
    Tensor mask = eq(abs(x), n).to(x.dtype());
    scale = kiln::detail::sign(x) * mask / sum(mask, dims, /*keepdim=*/true);
  } else if (p == 1) {
    scale = kiln::detail::sign(x);
  } else if (p == 2) {
    scale = x / where(eq(n, zero), ones_like(n), n);
  } else {
    scale = kiln::detail::sign(x) * pow(abs(x), p - 1) / pow(where(eq(n, zero), ones_like(n), n), p - 1);
  }
  return {where(eq(n, zero), zeros_like(x), g * scale)};
}

}  // namespace kiln::autograd
