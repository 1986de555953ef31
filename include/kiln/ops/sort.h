// Sorting and selecting along one dim.
#pragma once
#include <cstdint>

#include "kiln/core/tensor.h"
#include "kiln/ops/reduce.h"  // ValuesIndices

namespace kiln {

// Values sorted along dim and, in indices (int64), where each came from.
// The sort is stable (equal values keep their order, so `stable` only
// names PyTorch's flag); NaN sorts above +inf, first when descending.
ValuesIndices sort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = false);
// The k largest (or, largest = false, smallest) values along dim, sorted
// from the most extreme, with their indices; equal values go to the lower
// index first. `sorted` is PyTorch's flag: the result is always sorted.
ValuesIndices topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace kiln
