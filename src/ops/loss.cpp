// Losses: cross_entropy (fused log-softmax + NLL with label smoothing),
// nll_loss, mse_loss, binary_cross_entropy_with_logits. Each computes
// per-element losses, then reduces with ordinary (differentiable) ops.
#include "autograd/derivatives/loss.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/reduce.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

enum class Reduction { None, Mean, Sum };

Reduction parse_reduction(const char* op, const std::string& r) {
  if (r == "mean") return Reduction::Mean;
  if (r == "sum") return Reduction::Sum;
  if (r == "none") return Reduction::None;
  KILN_CHECK(false, ValueError, op, ": reduction must be \"mean\", \"sum\" or \"none\", got \"", r, "\"");
  return Reduction::None;
}

// Class scores [N,C,d1,...] with targets [N,d1,...] as rows [M,C] and [M].
struct ClassRows {
  Tensor scores;  // [M,C], differentiable view of the input
  Tensor target;  // int64 [M]
  Shape target_shape;
};

ClassRows class_rows(const char* op, const Tensor& input, const Tensor& target) {
  detail::check_defined(op, input);
  detail::check_defined(op, target, "target");
  detail::check_same_device(op, {&input, &target});
  detail::check_floating(op, input);
  KILN_CHECK(target.dtype() == kInt64, DTypeError, op, ": target must hold int64 class indices, got ",
             detail::describe(target));
  KILN_CHECK(input.dim() >= 1, ShapeError, op, ": input must be [N,C] or [N,C,d1,...], got ",
             detail::describe(input));
  if (input.dim() == 1) {  // one sample [C] with a scalar target
    KILN_CHECK(target.dim() == 0, ShapeError, op, ": input ", detail::describe(input),
               " needs a 0-D target, got ", detail::describe(target));
    return {input.unsqueeze(0), target.reshape({1}), {}};
  }
  Shape expected = input.sizes();
  expected.erase(expected.begin() + 1);
  KILN_CHECK(target.sizes() == expected, ShapeError, op, ": target ", detail::describe(target), " must be ",
             shape_str(expected), " for input ", detail::describe(input));
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

// Rows whose target is ignore_index count as 0 (valid = 0); the others must
// be class indices in [0, C).
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

Tensor reduce_rows(const Tensor& per_row, const Tensor& valid, Reduction r, const Shape& target_shape) {
  switch (r) {
    case Reduction::None: return per_row.reshape(target_shape);
    case Reduction::Sum: return sum(per_row);
    case Reduction::Mean: {
      Tensor count;
      {
        NoGradGuard no_grad;
        count = sum(valid);
      }
      return sum(per_row) / count;  // 0/0 = nan when every target is ignored, as in PyTorch
    }
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

// Cross entropy of logits [N,C] through the backend's fused primitive (one
// pass per row, no [N,C] log-probabilities kept); the other layouts use the
// log_softmax composition in cross_entropy below.
Tensor fused_cross_entropy(const ClassRows& rows, const Targets& t, int64_t ignore_index, double label_smoothing,
                           Reduction r) {
  const Tensor& scores = rows.scores;
  const DType lse_dtype = scores.dtype() == kFloat64 ? kFloat64 : kFloat32;
  Tensor x = scores.detach().contiguous();
  Tensor target = rows.target.contiguous();
  Tensor per_row = detail::make_empty({x.size(0)}, x.dtype(), x.device());
  Tensor lse = detail::make_empty({x.size(0)}, lse_dtype, x.device());
  detail::backend_of(x).cross_entropy_forward(x, target, ignore_index, label_smoothing, per_row, lse);
  if (autograd::needs_grad({&scores})) {
    auto node = std::make_shared<autograd::FusedCrossEntropyBackward>();
    node->logits = autograd::SavedTensor(x);
    node->target = autograd::SavedTensor(target);
    node->lse = autograd::SavedTensor(lse);
    node->ignore_index = ignore_index;
    node->label_smoothing = label_smoothing;
    autograd::set_history(per_row, node, {&scores});
  }
  return reduce_rows(per_row, t.valid, r, rows.target_shape);
}

}  // namespace

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                     const std::string& reduction) {
  const char* op = "cross_entropy";
  const Reduction r = parse_reduction(op, reduction);
  KILN_CHECK(label_smoothing >= 0 && label_smoothing <= 1, ValueError, op,
             ": label_smoothing must be in [0, 1], got ", label_smoothing);
  ClassRows rows = class_rows(op, logits, target);
  const int64_t C = rows.scores.size(1);
  Targets t = check_targets(op, rows.target, C, ignore_index, logits.dtype());
  if (logits.dim() <= 2) return fused_cross_entropy(rows, t, ignore_index, label_smoothing, r);

  Tensor lp, per_row;
  {
    NoGradGuard no_grad;
    lp = log_softmax(rows.scores.detach(), 1);
    Tensor nll = -gather(lp, 1, t.safe.unsqueeze(1)).squeeze(1);
    if (label_smoothing > 0) {
      Tensor smooth = -sum(lp, {1});
      nll = nll * (1.0 - label_smoothing) + smooth * (label_smoothing / static_cast<double>(C));
    }
    per_row = nll * t.valid;
  }
  if (autograd::needs_grad({&rows.scores})) {
    auto node = std::make_shared<autograd::CrossEntropyBackward>();
    node->log_probs = autograd::SavedTensor(lp);
    node->target = autograd::SavedTensor(t.safe);
    node->valid = autograd::SavedTensor(t.valid);
    node->label_smoothing = label_smoothing;
    autograd::set_history(per_row, node, {&rows.scores});
  }
  return reduce_rows(per_row, t.valid, r, rows.target_shape);
}

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index, const std::string& reduction) {
  const char* op = "nll_loss";
  const Reduction r = parse_reduction(op, reduction);
  ClassRows rows = class_rows(op, log_probs, target);
  Targets t = check_targets(op, rows.target, rows.scores.size(1), ignore_index, log_probs.dtype());
  Tensor per_row = -gather(rows.scores, 1, t.safe.unsqueeze(1)).squeeze(1) * t.valid;
  return reduce_rows(per_row, t.valid, r, rows.target_shape);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction) {
  const char* op = "mse_loss";
  const Reduction r = parse_reduction(op, reduction);
  detail::check_defined(op, input);
  detail::check_defined(op, target, "target");
  detail::check_same_device(op, {&input, &target});
  detail::check_floating(op, input);
  KILN_CHECK(input.sizes() == target.sizes(), ShapeError, op, ": input ", detail::describe(input), " and target ",
             detail::describe(target), " must have the same shape");
  KILN_CHECK(input.dtype() == target.dtype(), DTypeError, op, ": input ", detail::describe(input), " and target ",
             detail::describe(target), " must have the same dtype");
  Tensor d = input - target;
  return reduce_elements(d * d, r);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target, const Tensor& pos_weight,
                                        const std::string& reduction) {
  const char* op = "binary_cross_entropy_with_logits";
  const Reduction r = parse_reduction(op, reduction);
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
  return reduce_elements(loss, r);
}

}  // namespace kiln
