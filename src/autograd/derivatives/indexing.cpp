#include "autograd/derivatives/indexing.h"

#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"

namespace kiln::autograd {

std::vector<Tensor> CatBackward::apply(const Tensor& grad) {
  std::vector<Tensor> grads;
  int64_t start = 0;
  for (size_t i = 0; i < lengths.size(); ++i) {
    grads.push_back(needs_input_grad(i) ? grad.narrow(dim, start, lengths[i]) : Tensor());
    start += lengths[i];
  }
  return grads;
}

std::vector<Tensor> IndexSelectBackward::apply(const Tensor& grad) {
  Tensor idx = index.unpack(*this);
  // Expand the 1-D index along every other dim so scatter_add can place rows.
  Shape view_shape(grad.dim(), 1);
  view_shape[dim] = idx.numel();
  Tensor full_index = idx.view(view_shape).expand(grad.sizes()).contiguous();
  return {scatter_add(zeros(input_sizes, grad.options()), dim, full_index, grad)};
}

std::vector<Tensor> GatherBackward::apply(const Tensor& grad) {
  return {scatter_add(zeros(input_sizes, grad.options()), dim, index.unpack(*this), grad)};
}

std::vector<Tensor> ScatterAddBackward::apply(const Tensor& grad) {
  Tensor gsrc;
  if (needs_input_grad(1)) gsrc = gather(grad, dim, index.unpack(*this));
  return {needs_input_grad(0) ? grad : Tensor(), gsrc};
}

std::vector<Tensor> SplitBackward::apply_outputs(const std::vector<Tensor>& grads) {
  std::vector<Tensor> pieces;
  pieces.reserve(part_sizes.size());
  for (size_t k = 0; k < part_sizes.size(); ++k)
    pieces.push_back(k < grads.size() && grads[k].defined() ? grads[k] : zeros(part_sizes[k], options));
  return {cat(pieces, dim)};
}

std::vector<Tensor> SplitBackward::apply(const Tensor& grad) { return apply_outputs({grad}); }

}  // namespace kiln::autograd
