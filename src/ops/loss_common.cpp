// See loss_common.h.
#include "ops/loss_common.h"

#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/op_util.h"

namespace kiln::detail {

Reduction parse_reduction(const char* op, const std::string& r) {
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  if (r == "none") return Reduction::None;
  KILN_CHECK(false, ValueError, op, ": reduction must be \"mean\", \"sum\" or \"none\", got \"", r, "\"");
  return Reduction::None;
}

ClassRows class_rows(const char* op, const Tensor& input, const Tensor& target) {
  check_defined(op, input);
  check_defined(op, target, "target");
  check_same_device(op, {&input, &target});
  check_floating(op, input);
  KILN_CHECK(target.dtype() == kInt64, DTypeError, op, ": target must hold int64 class indices, got ",
             describe(target));
  KILN_CHECK(input.dim() >= 1, ShapeError, op, ": input must be [N,C] or [N,C,d1,...], got ", describe(input));
  if (input.dim() == 1) {  // one sample [C] with a scalar target
    KILN_CHECK(target.dim() == 0, ShapeError, op, ": input ", describe(input), " needs a 0-D target, got ",
               describe(target));
    return {input.unsqueeze(0), target.reshape({1}), {}};
  }
  Shape expected = input.sizes();
  expected.erase(expected.begin() + 1);
  KILN_CHECK(target.sizes() == expected, ShapeError, op, ": target ", describe(target), " must be ",
             shape_str(expected), " for input ", describe(input));
  const int64_t C = input.size(1);
  Tensor scores = input;
  if (input.dim() > 2) {
    Shape perm{0};
    for (int64_t d = 2; d < input.dim(); ++d) perm.push_back(d);
    perm.push_back(1);
    scores = input.permute(perm).reshape({-1, C});
  }
  return {scores, target.reshape({-1}), expected};
}

Tensor reduce_rows(const Tensor& per_row, const Tensor& count, Reduction r, const Shape& target_shape) {
  switch (r) {
    case Reduction::None: return per_row.reshape(target_shape);
    case Reduction::Sum: return sum(per_row);
    case Reduction::Mean: return sum(per_row) / count;  // 0/0 = nan when every target is ignored, as in PyTorch
  }
  return per_row;
}

Tensor reduce_elements(const Tensor& loss, Reduction r) {
  switch (r) {
    case Reduction::None: return loss;
    case Reduction::Sum: return sum(loss);
    case Reduction::Mean: return mean(loss);
  }
  return loss;
}

}  // namespace kiln::detail
