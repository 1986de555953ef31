// group_norm: mean and biased variance over each group of channels (and
// the spatial dims), then the per-channel affine transform. Composite: its
// gradient is that of the reductions and elementwise ops, on every device,
// with no kernel of its own.
#include "kiln/ops/math.h"
#include "kiln/ops/image.h"
#include "kiln/ops/reduce.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x, &weight, &bias}))
    return group_norm(c[0], num_groups, c[1], c[2], eps);
  const char* op = "group_norm";
  detail::check_defined(op, x);
  detail::check_floating(op, x);
  detail::check_same_device(op, {&x, &weight, &bias});
  KILN_CHECK(x.dim() >= 2, ShapeError, op, ": input must be [N,C,*], got ", detail::describe(x));
  const int64_t N = x.size(0), C = x.size(1);
  KILN_CHECK(num_groups >= 1 && C % num_groups == 0, ValueError, op, ": num_groups ", num_groups,
             " must divide the channels ", C, " of ", detail::describe(x));
  for (const Tensor* t : {&weight, &bias}) {
    if (!t->defined()) continue;
    KILN_CHECK(t->dim() == 1 && t->size(0) == C, ShapeError, op, ": weight and bias must be [", C, "], got ",
               detail::describe(*t));
  }
  KILN_CHECK(eps >= 0, ValueError, op, ": eps must be >= 0, got ", eps);
  if (x.numel() == 0) return x.clone();
  const Tensor g = x.reshape({N, num_groups, -1});
  const Tensor mu = g.mean({2}, true);
  const Tensor centred = g - mu;
  const Tensor var = (centred * centred).mean({2}, true);
  Tensor y = (centred * rsqrt(var + eps)).reshape(x.sizes());
  Shape cshape(static_cast<size_t>(x.dim()), 1);
  cshape[1] = C;
  if (weight.defined()) y = y * weight.to(x.dtype()).reshape(cshape);
  if (bias.defined()) y = y + bias.to(x.dtype()).reshape(cshape);
  return y;
}

}  // namespace kiln
