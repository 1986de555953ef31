// Helpers shared by the losses over class scores (src/ops/cross_entropy.cpp,
// src/ops/loss.cpp): the reduction argument and the [M, C] row view.
#pragma once
#include <string>

#include "kiln/core/tensor.h"

namespace kiln::detail {

enum class Reduction { None, Mean, Sum };
// "mean", "sum" or "none"; ValueError naming op otherwise.
Reduction parse_reduction(const char* op, const std::string& r);

// Class scores [N,C,d1,...] with targets [N,d1,...] as rows [M,C] and [M];
// checks devices, dtypes and shapes (not the target values).
struct ClassRows {
  Tensor scores;  // [M,C], differentiable view of the input
  Tensor target;  // int64 [M]
  Shape target_shape;
};
ClassRows class_rows(const char* op, const Tensor& input, const Tensor& target);

// per_row [M] reduced as asked; `count` (the number of counted rows, in
// per_row's dtype) divides for Mean. None gives target_shape.
Tensor reduce_rows(const Tensor& per_row, const Tensor& count, Reduction r, const Shape& target_shape);
// Elementwise losses reduced as asked.
Tensor reduce_elements(const Tensor& loss, Reduction r);

}  // namespace kiln::detail
