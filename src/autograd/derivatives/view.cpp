#include "autograd/derivatives/view.h"

#include "kiln/ops/factory.h"
#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> ReshapeBackward::apply(const Tensor& grad) { return {grad.reshape(input_sizes)}; }

std::vector<Tensor> PermuteBackward::apply(const Tensor& grad) {
  Shape inverse(dims.size());
  for (size_t i = 0; i < dims.size(); ++i) inverse[dims[i]] = static_cast<int64_t>(i);
  return {grad.permute(inverse)};
}

std::vector<Tensor> ExpandBackward::apply(const Tensor& grad) { return {detail::sum_to(grad, input_sizes)}; }

std::vector<Tensor> SliceBackward::apply(const Tensor& grad) {
  Tensor gx = zeros(input_sizes, grad.options());
  Tensor window = gx.slice(dim, start, end, step);
  window.copy_(grad);
  return {gx};
}

std::vector<Tensor> SelectBackward::apply(const Tensor& grad) {
  Tensor gx = zeros(input_sizes, grad.options());
  Tensor window = gx.select(dim, index);
  window.copy_(grad);
  return {gx};
}

std::vector<Tensor> CopyBackward::apply(const Tensor& grad) {
  return {Tensor(), detail::sum_to(grad, src_sizes).to(src_device)};
}

}  // namespace kiln::autograd
