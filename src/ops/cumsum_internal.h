// The running sum along a dim, forward or reversed, for cumsum and its
// backward (src/ops/cumsum.cpp).
#pragma once
#include "kiln/core/tensor.h"

namespace kiln::detail {

// No autograd; x's dtype (integers and bool widened to int64).
Tensor running_sum(const Tensor& x, int64_t dim, bool reverse);

}  // namespace kiln::detail
