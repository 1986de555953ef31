// Sorting and selecting along one dim.
#pragma once
#include <cstdint>
#include <tuple>

#include "kiln/core/tensor.h"

namespace kiln {

// (values, indices): values sorted along dim and, in indices (int64), where
// each came from, as LibTorch's tuple:  auto [values, indices] = sort(x);
// The sort is stable (equal values keep their order, so `stable` only
// names PyTorch's flag); NaN sorts above +inf, first when descending.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false, bool stable = false);
// The k largest (or, largest = false, smallest) values along dim, sorted
// from the most extreme, with their indices; equal values go to the lower
// index first. `sorted` is PyTorch's flag: the result is always sorted.
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true, bool sorted = true);

}  // namespace kiln
