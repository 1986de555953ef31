// Overflow-checked shape arithmetic. A shape that enters kiln from a file, a
// factory or a view passes through one of these, so numel, contiguous strides,
// byte sizes and element offsets always fit in int64 and a shape that would
// not gives a ShapeError instead of wrapping silently (or signed-overflow UB).
//
// The rule: every dim is >= 0 and the product of the non-zero dims fits in
// int64. That product bounds both numel and every contiguous stride, so a
// zero-element shape like [4294967295, 4294967295, 0] is refused too: its
// numel is 0, but its strides would not be representable.
#pragma once
#include <cstddef>
#include <cstdint>

#include "kiln/core/tensor.h"

namespace kiln::detail {

// a * b into *out; false when it overflows int64.
inline bool mul_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_mul_overflow(a, b, out); }
inline bool add_fits(int64_t a, int64_t b, int64_t* out) { return !__builtin_add_overflow(a, b, out); }

// numel of `sizes`; throws ShapeError starting with `op` on a negative dim or overflow.
int64_t checked_numel(const char* op, const Shape& sizes);
// numel of `sizes` when numel * element_size also fits in int64 (the byte size).
int64_t checked_numel(const char* op, const Shape& sizes, size_t element_size);
// One past the last element offset that (sizes, strides, offset) reaches, or 0
// for an empty shape; throws ShapeError on negative strides or overflow,
// including of the byte offset at `element_size` bytes per element.
int64_t checked_extent(const char* op, const Shape& sizes, const Shape& strides, int64_t offset,
                       size_t element_size);

}  // namespace kiln::detail
