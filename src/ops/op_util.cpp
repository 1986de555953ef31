#include "ops/op_util.h"

#include "kiln/ops/reduce.h"

namespace kiln::detail {

Tensor sum_to(const Tensor& grad, const Shape& shape) {
  if (grad.sizes() == shape) return grad;
  const int64_t lead = grad.dim() - static_cast<int64_t>(shape.size());
  Shape dims;
  for (int64_t i = 0; i < grad.dim(); ++i) {
    if (i < lead) dims.push_back(i);
    else if (shape[i - lead] == 1 && grad.size(i) != 1) dims.push_back(i);
  }
  Tensor r = dims.empty() ? grad : kiln::sum(grad, dims, /*keepdim=*/true);
  return r.reshape(shape);
}

}  // namespace kiln::detail
