#include "autograd/derivatives/loss.h"

#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "ops/op_util.h"

namespace kiln::autograd {

Tensor softplus_neg(const Tensor& x) { return relu(-x) + log(exp(-abs(x)) + 1.0); }

std::vector<Tensor> BceWithLogitsBackward::apply(const Tensor& grad) {
  Tensor x = input.unpack(*this), y = target.unpack(*this);
  Tensor pw = has_pos_weight ? pos_weight.unpack(*this) : Tensor();
  Tensor sp = softplus_neg(x);  // log(1 + exp(-x))
  Tensor gx, gy, gpw;
  if (needs_input_grad(0)) {
    Tensor w = pw.defined() ? (pw - 1.0) * y + 1.0 : ones_like(y);
    gx = grad * ((1.0 - y) - w * sigmoid(-x));
  }
  if (needs_input_grad(1)) {
    gy = pw.defined() ? grad * ((pw - 1.0) * sp - x) : grad * (-x);
  }
  if (has_pos_weight && needs_input_grad(2)) gpw = detail::sum_to(grad * y * sp, pw.sizes());
  if (has_pos_weight) return {gx, gy, gpw};
  return {gx, gy};
}

}  // namespace kiln::autograd
