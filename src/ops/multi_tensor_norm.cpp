// multi_tensor_norm: the L2 norm and the NaN/inf count of each of many
// tensors in one backend call (two kernel launches on CUDA, whatever the
// number of tensors), for the training health guard and gradient statistics.
// Not differentiable: the result is a measurement.
#include "kiln/core/grad_mode.h"
#include "kiln/ops/reduce.h"
#include "ops/op_util.h"

namespace kiln {

Tensor multi_tensor_norm(const std::vector<Tensor>& tensors) {
  const char* op = "multi_tensor_norm";
  KILN_CHECK(!tensors.empty(), ValueError, op, ": expects at least one tensor");
  std::vector<Tensor> dense;
  dense.reserve(tensors.size());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    KILN_CHECK(t.defined(), ValueError, op, ": tensor ", i, " is undefined");
    KILN_CHECK(is_floating(t.dtype()), DTypeError, op, ": tensor ", i, " ", detail::describe(t),
               " must be floating (float16, bfloat16, float32 or float64)");
    KILN_CHECK(t.device() == tensors[0].device(), DeviceError, op, ": tensor ", i, " ", detail::describe(t),
               " is not on ", tensors[0].device(), " like tensor 0; one call reads one device");
    dense.push_back(t.detach().contiguous());
  }
  Tensor out = detail::make_empty({static_cast<int64_t>(tensors.size()), 2}, kFloat64, tensors[0].device());
  NoGradGuard no_grad;
  detail::backend_of(tensors[0]).multi_tensor_norm(dense, out);
  return out;
}

}  // namespace kiln
