#include "autograd/derivatives/cross_entropy.h"

#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> FusedCrossEntropyBackward::apply(const Tensor& grad) {
  Tensor x = logits.unpack(*this), t = target.unpack(*this), s = lse.unpack(*this);
  // grad may be an expanded view (the backward of sum); the primitive wants it dense.
  Tensor g = grad.to(x.dtype()).contiguous();
  Tensor gx = detail::make_empty(x.sizes(), x.dtype(), x.device());
  if (gx.numel() > 0) detail::backend_of(x).cross_entropy_backward(g, x, t, s, ignore_index, label_smoothing, gx);
  return {gx};
}

}  // namespace kiln::autograd
