#include "autograd/derivatives/softmax.h"

#include "kiln/ops/factory.h"
#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> SoftmaxBackward::apply(const Tensor& grad) {
  Tensor y = result.unpack(*this);
  Tensor gy = grad.contiguous();
  Tensor gx = empty(y.sizes(), y.options());
  if (gx.numel() > 0) detail::backend_of(y).softmax_backward(y, gy, geometry, log, gx);
  return {gx};
}

}  // namespace kiln::autograd
