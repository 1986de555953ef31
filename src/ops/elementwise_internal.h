// Elementwise helpers used by backward formulas and other ops: no autograd.
#pragma once
#include "backend/backend.h"

namespace kiln::detail {

// op(a, b) with broadcasting, both cast to a's dtype; not recorded.
Tensor binary_same(BinaryOp op, const Tensor& a, const Tensor& b);
Tensor sign(const Tensor& x);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
// The dtype of `t op s` for a Scalar s (a "weak" type).
DType result_type(const Tensor& t, const Scalar& s);

}  // namespace kiln::detail
