#include "autograd/derivatives/layer_norm.h"

#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> LayerNormBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this);
  Tensor w = has_weight ? weight.unpack(*this) : Tensor();
  Tensor m = rms ? Tensor() : mean.unpack(*this);
  Tensor s = rstd.unpack(*this);
  const size_t wi = 1, bi = has_weight ? 2 : 1;
  Tensor gy = grad.reshape(x.sizes()).contiguous();
  const int64_t n = x.size(1);
  Tensor gx, gw, gb;
  if (needs_input_grad(0)) gx = detail::make_empty(x.sizes(), x.dtype(), x.device());
  if (has_weight && needs_input_grad(wi)) gw = detail::make_empty({n}, x.dtype(), x.device());
  if (has_bias && needs_input_grad(bi)) gb = detail::make_empty({n}, x.dtype(), x.device());
  if (x.numel() > 0 && (gx.defined() || gw.defined() || gb.defined())) {
    detail::backend_of(x).layer_norm_backward(gy, x, w, m, s, rms, gx, gw, gb);
  } else {
    // No rows: the parameters' gradients are empty sums.
    if (gw.defined()) detail::backend_of(x).fill(gw, 0);
    if (gb.defined()) detail::backend_of(x).fill(gb, 0);
  }
  std::vector<Tensor> out{gx.defined() ? gx.reshape(input_sizes) : gx};
  if (has_weight) out.push_back(gw.defined() ? gw.reshape(param_sizes) : gw);
  if (has_bias) out.push_back(gb.defined() ? gb.reshape(param_sizes) : gb);
  return out;
}

}  // namespace kiln::autograd
