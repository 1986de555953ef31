#include "autograd/derivatives/reduce.h"

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

}  // namespace kiln::autograd
