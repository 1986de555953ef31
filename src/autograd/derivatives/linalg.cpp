#include "autograd/derivatives/linalg.h"

#include "kiln/ops/linalg.h"

namespace kiln::autograd {

std::vector<Tensor> BmmBackward::apply(const Tensor& grad) {
  Tensor ga, gb;
  if (needs_input_grad(0)) ga = bmm(grad, b.unpack(*this).transpose(1, 2));
  if (needs_input_grad(1)) gb = bmm(a.unpack(*this).transpose(1, 2), grad);
  return {ga, gb};
}

}  // namespace kiln::autograd
