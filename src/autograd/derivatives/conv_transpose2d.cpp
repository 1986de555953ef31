#include "autograd/derivatives/conv_transpose2d.h"

#include "ops/op_util.h"

namespace kiln::autograd {

// Inputs: (x, weight). y = conv2d_input_grad(x; weight), so
// dL/dx = conv2d(dL/dy, weight) and dL/dweight = conv2d_weight_grad(input dL/dy, output grad x).
std::vector<Tensor> ConvTranspose2dBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this), w = weight.unpack(*this);
  Tensor gy = grad.contiguous();
  Tensor gx, gw;
  if (needs_input_grad(0)) {
    gx = detail::make_empty(x.sizes(), x.dtype(), x.device());
    if (gx.numel() > 0) detail::backend_of(gy).conv2d_forward(gy, w, Tensor(), params, gx);
  }
  if (needs_input_grad(1)) {
    gw = detail::make_empty(w.sizes(), w.dtype(), w.device());
    Tensor none_x, none_b;
    detail::backend_of(gy).conv2d_backward(x, gy, w, params, none_x, gw, none_b);
  }
  return {gx, gw};
}

}  // namespace kiln::autograd
