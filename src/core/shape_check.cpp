#include "core/shape_check.h"

#include <limits>

namespace kiln::detail {

namespace {

[[noreturn]] void overflow(const char* op, const Shape& sizes, const char* what) {
  throw ShapeError(str_cat(op, ": shape ", shape_str(sizes), " is too large: ", what,
                           " overflows a 64-bit integer"));
}

// Product of the non-zero dims (what contiguous strides reach); checks signs.
int64_t nonzero_product(const char* op, const Shape& sizes) {
  int64_t p = 1;
  for (int64_t s : sizes) {
    KILN_CHECK(s >= 0, ShapeError, op, ": negative dimension in shape ", shape_str(sizes));
    if (s != 0 && !mul_fits(p, s, &p)) overflow(op, sizes, "the product of its dimensions");
  }
  return p;
}

}  // namespace

int64_t checked_numel(const char* op, const Shape& sizes) {
  const int64_t p = nonzero_product(op, sizes);
  for (int64_t s : sizes)
    if (s == 0) return 0;
  return p;
}

int64_t checked_numel(const char* op, const Shape& sizes, size_t element_size) {
  const int64_t n = checked_numel(op, sizes);
  int64_t bytes = 0;
  if (element_size > static_cast<size_t>(std::numeric_limits<int64_t>::max()) ||
      !mul_fits(n, static_cast<int64_t>(element_size), &bytes))
    overflow(op, sizes, "its size in bytes");
  return n;
}

int64_t checked_extent(const char* op, const Shape& sizes, const Shape& strides, int64_t offset,
                       size_t element_size) {
  KILN_CHECK(sizes.size() == strides.size(), ShapeError, op, ": sizes ", shape_str(sizes), " and strides ",
             shape_str(strides), " differ in length");
  KILN_CHECK(offset >= 0, ShapeError, op, ": negative storage offset ", offset);
  for (int64_t st : strides)
    KILN_CHECK(st >= 0, ShapeError, op, ": negative stride in ", shape_str(strides), " (sizes ", shape_str(sizes),
               ")");
  if (checked_numel(op, sizes) == 0) return 0;
  int64_t last = offset;
  for (size_t i = 0; i < sizes.size(); ++i) {
    int64_t reach = 0;
    if (!mul_fits(sizes[i] - 1, strides[i], &reach) || !add_fits(last, reach, &last))
      throw ShapeError(str_cat(op, ": sizes ", shape_str(sizes), " with strides ", shape_str(strides),
                               " and offset ", offset, " reach an element offset that overflows a 64-bit integer"));
  }
  int64_t end = 0, bytes = 0;
  if (!add_fits(last, 1, &end) || element_size > static_cast<size_t>(std::numeric_limits<int64_t>::max()) ||
      !mul_fits(end, static_cast<int64_t>(element_size), &bytes))
    throw ShapeError(str_cat(op, ": sizes ", shape_str(sizes), " with strides ", shape_str(strides),
                             " and offset ", offset, " reach a byte offset that overflows a 64-bit integer"));
  return end;
}

}  // namespace kiln::detail
