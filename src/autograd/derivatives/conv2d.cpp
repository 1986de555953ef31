#include "autograd/derivatives/conv2d.h"

#include "ops/op_util.h"

namespace kiln::autograd {

// Inputs: (x, weight[, bias]). Only the gradients that are needed are computed.
std::vector<Tensor> Conv2dBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this), w = weight.unpack(*this);
  Tensor gy = grad.contiguous();
  Tensor gx, gw, gb;
  if (needs_input_grad(0)) gx = detail::make_empty(x.sizes(), x.dtype(), x.device());
  if (needs_input_grad(1)) gw = detail::make_empty(w.sizes(), w.dtype(), w.device());
  if (has_bias && needs_input_grad(2)) gb = detail::make_empty({w.size(0)}, w.dtype(), w.device());
  if (gx.defined() || gw.defined() || gb.defined()) {
    detail::backend_of(x).conv2d_backward(gy, x, w, params, gx, gw, gb);
  }
  if (has_bias) return {gx, gw, gb};
  return {gx, gw};
}

}  // namespace kiln::autograd
