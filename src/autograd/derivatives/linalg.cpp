#include "autograd/derivatives/linalg.h"

#include "kiln/ops/linalg.h"
#include "kiln/ops/reduce.h"

namespace kiln::autograd {

std::vector<Tensor> BmmBackward::apply(const Tensor& grad) {
  Tensor ga, gb;
  if (needs_input_grad(0)) {
    const Tensor bt = b.unpack(*this);
    ga = a_column_major ? bmm(bt, grad.transpose(1, 2)).transpose(1, 2) : bmm(grad, bt.transpose(1, 2));
  }
  if (needs_input_grad(1)) {
    const Tensor at = a.unpack(*this);
    gb = b_column_major ? bmm(grad.transpose(1, 2), at).transpose(1, 2) : bmm(at.transpose(1, 2), grad);
  }
  return {ga, gb};
}

// Inputs: (x, weight[, bias]), as recorded by linear.
std::vector<Tensor> LinearBackward::apply(const Tensor& grad) {
  const Tensor w = weight.unpack(*this);
  const Tensor g2 = grad.reshape({-1, w.size(0)});
  std::vector<Tensor> out(has_bias ? 3 : 2);
  if (needs_input_grad(0)) out[0] = mm(g2, w).view(input_shape);
  if (needs_input_grad(1)) out[1] = mm(g2.t(), input2d.unpack(*this));
  if (has_bias && needs_input_grad(2)) out[2] = g2.sum(0);
  return out;
}

}  // namespace kiln::autograd
