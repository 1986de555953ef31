#include "autograd/derivatives/batch_norm.h"

#include "ops/op_util.h"

namespace kiln::autograd {

// Inputs: (x[, weight][, bias]) in that order, as recorded by batch_norm.
std::vector<Tensor> BatchNormBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this);
  Tensor w = has_weight ? weight.unpack(*this) : Tensor();
  Tensor mean = save_mean.unpack(*this), invstd = save_invstd.unpack(*this);
  Tensor b = relu && has_bias ? bias.unpack(*this) : Tensor();
  Tensor y = relu ? relu_out.unpack(*this) : Tensor();
  const size_t wi = 1, bi = has_weight ? 2 : 1;
  Tensor gy = grad.contiguous();
  Tensor gx, gw, gb;
  const int64_t C = x.size(1);
  if (needs_input_grad(0)) gx = detail::make_empty(x.sizes(), x.dtype(), x.device());
  if (has_weight && needs_input_grad(wi)) gw = detail::make_empty({C}, x.dtype(), x.device());
  if (has_bias && needs_input_grad(bi)) gb = detail::make_empty({C}, x.dtype(), x.device());
  if (gx.defined() || gw.defined() || gb.defined()) {
    detail::backend_of(x).batch_norm_backward(gy, x, w, b, mean, invstd, training, eps, y, gx, gw, gb);
  }
  std::vector<Tensor> out{gx};
  if (has_weight) out.push_back(gw);
  if (has_bias) out.push_back(gb);
  return out;
}

}  // namespace kiln::autograd
