#include "optim/fused_buckets.h"

#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "kiln/ops/factory.h"

namespace kiln::optim::internal {

Tensor checked_grad(const char* optimizer, const Tensor& param, size_t index) {
  Tensor grad = param.grad();
  KILN_CHECK(grad.dtype() == param.dtype(), DTypeError, optimizer, ": parameter ", index, " is ",
             kiln::detail::describe(param), " but its gradient is ", kiln::detail::describe(grad));
  KILN_CHECK(grad.device() == param.device() && grad.sizes() == param.sizes(), ShapeError, optimizer, ": parameter ",
             index, " is ", kiln::detail::describe(param), " but its gradient is ", kiln::detail::describe(grad));
  // The fused kernels read gradients densely; grads are rarely strided.
  return grad.detach().contiguous();
}

Tensor zero_state_like(const Tensor& param) {
  return zeros(param.sizes(), TensorOptions().dtype(param.dtype()).device(param.device()));
}

void mark_updated(const FusedBucket& bucket) {
  for (const auto& p : bucket.params) kiln::detail::bump_version(p);
  for (const auto& list : bucket.states)
    for (const auto& t : list) kiln::detail::bump_version(t);
}

}  // namespace kiln::optim::internal
