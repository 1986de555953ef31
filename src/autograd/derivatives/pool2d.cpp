#include "autograd/derivatives/pool2d.h"

#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> MaxPool2dBackward::apply(const Tensor& grad) {
  Tensor idx = indices.unpack(*this);
  Tensor gy = grad.contiguous();
  Tensor gx = detail::make_empty(input_sizes, grad.dtype(), grad.device());
  detail::backend_of(gy).max_pool2d_backward(gy, idx, gx);
  return {gx};
}

std::vector<Tensor> AvgPool2dBackward::apply(const Tensor& grad) {
  Tensor gy = grad.contiguous();
  Tensor gx = detail::make_empty(input_sizes, grad.dtype(), grad.device());
  detail::backend_of(gy).avg_pool2d_backward(gy, params, gx);
  return {gx};
}

}  // namespace kiln::autograd
