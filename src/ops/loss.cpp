// Losses other than cross_entropy (src/ops/cross_entropy.cpp): nll_loss,
// mse_loss, binary_cross_entropy_with_logits. Each computes per-element
// losses, then reduces with ordinary (differentiable) ops.
#include "autograd/derivatives/loss.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/reduce.h"
#include "ops/loss_common.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

using detail::Reduction;

namespace {

// Rows whose target is ignore_index count as 0 (valid = 0); the others must
// be class indices in [0, C) (checked here with two host reads: nll_loss is
// not on the training path that cross_entropy is).
struct Targets {
  Tensor safe;   // int64 [M], ignored rows set to 0
  Tensor valid;  // [M] in `dtype`, 1 or 0
};

Targets check_targets(const char* op, const Tensor& target, int64_t C, int64_t ignore_index, DType dtype) {
  NoGradGuard no_grad;
  Tensor ignored = target == full({}, ignore_index, TensorOptions(kInt64).device(target.device()));
  Tensor safe = where(ignored, zeros({}, TensorOptions(kInt64).device(target.device())), target);
  if (safe.numel() > 0) {
    const int64_t lo = safe.min().item<int64_t>(), hi = safe.max().item<int64_t>();
    KILN_CHECK(lo >= 0 && hi < C, IndexError, op, ": target values must be in [0, ", C, ") or equal ignore_index ",
               ignore_index, ", got values in [", lo, ", ", hi, "]");
  }
  return {safe, (1.0 - ignored.to(dtype)).contiguous()};
}

}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index, const std::string& reduction) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&log_probs}))
    return nll_loss(c[0], target, ignore_index, reduction);
  const char* op = "nll_loss";
  const Reduction r = detail::parse_reduction(op, reduction);
  detail::ClassRows rows = detail::class_rows(op, log_probs, target);
  Targets t = check_targets(op, rows.target, rows.scores.size(1), ignore_index, log_probs.dtype());
  Tensor per_row = -gather(rows.scores, 1, t.safe.unsqueeze(1)).squeeze(1) * t.valid;
  Tensor count;
  if (r == Reduction::Mean) {
    NoGradGuard no_grad;
    count = sum(t.valid);
  }
  return detail::reduce_rows(per_row, count, r, rows.target_shape);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&input, &target})) return mse_loss(c[0], c[1], reduction);
  const char* op = "mse_loss";
  const Reduction r = detail::parse_reduction(op, reduction);
  detail::check_defined(op, input);
  detail::check_defined(op, target, "target");
  detail::check_same_device(op, {&input, &target});
  detail::check_floating(op, input);
  KILN_CHECK(input.sizes() == target.sizes(), ShapeError, op, ": input ", detail::describe(input), " and target ",
             detail::describe(target), " must have the same shape");
  KILN_CHECK(input.dtype() == target.dtype(), DTypeError, op, ": input ", detail::describe(input), " and target ",
             detail::describe(target), " must have the same dtype");
  Tensor d = input - target;
  return detail::reduce_elements(d * d, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& pos_weight,
                                        const std::string& reduction) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&input, &target, &pos_weight}))
    return binary_cross_entropy_with_logits(c[0], c[1], c[2], reduction);
  const char* op = "binary_cross_entropy_with_logits";
  const Reduction r = detail::parse_reduction(op, reduction);
  detail::check_defined(op, input);
  detail::check_defined(op, target, "target");
  detail::check_same_device(op, {&input, &target, &pos_weight});
  detail::check_floating(op, input);
  KILN_CHECK(input.sizes() == target.sizes(), ShapeError, op, ": input ", detail::describe(input), " and target ",
             detail::describe(target), " must have the same shape");
  KILN_CHECK(input.dtype() == target.dtype(), DTypeError, op, ": input ", detail::describe(input), " and target ",
             detail::describe(target), " must have the same dtype");
  if (pos_weight.defined()) {
    KILN_CHECK(pos_weight.dtype() == input.dtype(), DTypeError, op, ": pos_weight ", detail::describe(pos_weight),
               " must have the input's dtype ", input.dtype());
    KILN_CHECK(broadcast_shapes(pos_weight.sizes(), input.sizes(), op) == input.sizes(), ShapeError, op,
               ": pos_weight ", detail::describe(pos_weight), " must broadcast to the input ",
               detail::describe(input));
  }
  Tensor loss;
  {
    NoGradGuard no_grad;
    Tensor sp = autograd::softplus_neg(input);  // log(1 + exp(-x))
    Tensor w = pos_weight.defined() ? (pos_weight - 1.0) * target + 1.0 : Tensor();
    loss = (1.0 - target) * input + (w.defined() ? w * sp : sp);
  }
  if (autograd::needs_grad({&input, &target, &pos_weight})) {
    auto node = std::make_shared<autograd::BceWithLogitsBackward>();
    node->input = autograd::SavedTensor(input.detach());
    node->target = autograd::SavedTensor(target.detach());
    node->has_pos_weight = pos_weight.defined();
    if (pos_weight.defined()) {
      node->pos_weight = autograd::SavedTensor(pos_weight.detach());
      autograd::set_history(loss, node, {&input, &target, &pos_weight});
    } else {
      autograd::set_history(loss, node, {&input, &target});
    }
  }
  return detail::reduce_elements(loss, r);
}

}  // namespace kiln
