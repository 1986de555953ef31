// masked_fill, triu and tril: a mask and where(), so they run on every
// device and their gradients (zero where the mask replaced the input) come
// from WhereBackward.
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "ops/op_util.h"

namespace kiln {

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value) {
  const char* op = "masked_fill";
  detail::check_defined(op, x);
  detail::check_defined(op, mask, "mask");
  // Before where() would refuse it under its own name.
  detail::check_computable(op, x);
  detail::check_same_device(op, {&x, &mask});
  KILN_CHECK(mask.dtype() == kBool, DTypeError, op, ": mask must be bool, got ", detail::describe(mask));
  KILN_CHECK(broadcast_shapes(x.sizes(), mask.sizes(), op) == x.sizes(), ShapeError, op, ": mask ",
             shape_str(mask.sizes()), " must broadcast to the input's shape ", shape_str(x.sizes()));
  KILN_CHECK(is_floating(x.dtype()) || !value.is_floating(), DTypeError, op, ": cannot fill ", detail::describe(x),
             " with the floating value ", value.to_double());
  return where(mask, full({}, value, TensorOptions(x.dtype()).device(x.device())), x);
}

namespace {

// keep(i, j) = (j - i >= diagonal) for upper, (j - i <= diagonal) for lower.
Tensor triangle(const char* op, const Tensor& x, int64_t diagonal, bool upper) {
  detail::check_defined(op, x);
  KILN_CHECK(x.dim() >= 2, ShapeError, op, ": input must have at least 2 dims, got ", detail::describe(x));
  Tensor keep;
  {
    NoGradGuard no_grad;
    const TensorOptions idx = TensorOptions(kInt64).device(x.device());
    Tensor offset = arange(x.size(-1), idx) - arange(x.size(-2), idx).unsqueeze(1);  // j - i
    keep = upper ? ge(offset, full({}, diagonal, idx)) : le(offset, full({}, diagonal, idx));
  }
  return where(keep, x, zeros({}, TensorOptions(x.dtype()).device(x.device())));
}

}  // namespace

Tensor triu(const Tensor& x, int64_t diagonal) { return triangle("triu", x, diagonal, true); }
Tensor tril(const Tensor& x, int64_t diagonal) { return triangle("tril", x, diagonal, false); }

}  // namespace kiln
