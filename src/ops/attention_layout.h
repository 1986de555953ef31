// How scaled_dot_product_attention lays out what it hands the backends and
// what it allocates (src/ops/attention.cpp and its backward): an operand
// keeps its strides when each of its rows (the last dim) is contiguous, so
// the q, k, v views of a fused projection are read in place; out and the
// gradients follow their operands' order of dims, so that merging the heads
// back ([B, H, T, D] -> [B, T, H * D]) is a view, not a copy.
#pragma once
#include "core/tensor_impl.h"

namespace kiln::detail {

// t [B, H, T, D] as the backends read it: itself when its rows are
// contiguous and `ld` apart with ld >= D, else a contiguous copy.
inline Tensor attention_operand(const Tensor& t) {
  const bool rows = t.size(3) <= 1 || t.stride(3) == 1;
  const bool apart = t.size(2) <= 1 || t.stride(2) >= t.size(3);
  return rows && apart ? t : t.contiguous();
}

// A new [B, H, T, D] tensor (sizes) whose memory is [B, T, H, D] when
// `like`'s heads lie inside its time steps (as in a view of a [B, T, H * D]
// projection), else contiguous.
inline Tensor attention_result_like(const Tensor& like, const Shape& sizes, DType dtype) {
  const bool heads_inside = like.size(1) > 1 && like.size(2) > 1 && like.stride(1) < like.stride(2);
  if (!heads_inside) return make_empty(sizes, dtype, like.device());
  Tensor t = make_empty({sizes[0], sizes[2], sizes[1], sizes[3]}, dtype, like.device()).transpose(1, 2);
  t.unsafe_impl()->is_view = false;  // its storage is its own: in-place writes are as on any new tensor
  return t;
}

}  // namespace kiln::detail
