#include "autograd/derivatives/linalg.h"

#include "kiln/ops/linalg.h"

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

}  // namespace kiln::autograd
