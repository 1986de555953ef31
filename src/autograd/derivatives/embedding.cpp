#include "autograd/derivatives/embedding.h"

#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> EmbeddingBackward::apply(const Tensor& grad) {
  Tensor id = ids.unpack(*this);
  Tensor g = grad.reshape({id.size(0), dim}).contiguous();
  Tensor gw = detail::make_empty({num_weights, dim}, grad.dtype(), grad.device());
  if (gw.numel() > 0) detail::backend_of(g).embedding_backward(g, id, padding_idx, gw);
  return {gw};
}

}  // namespace kiln::autograd
