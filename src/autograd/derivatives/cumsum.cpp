#include "autograd/derivatives/cumsum.h"

#include "ops/cumsum_internal.h"

namespace kiln::autograd {

std::vector<Tensor> CumsumBackward::apply(const Tensor& grad) {
  return {detail::running_sum(grad, dim, /*reverse=*/true).to(input_dtype)};
}

}  // namespace kiln::autograd
