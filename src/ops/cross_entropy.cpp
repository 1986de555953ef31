// cross_entropy: log-softmax and NLL with label smoothing over class-index
// targets, fused into one backend primitive (one pass per row, no [M, C]
// log-probabilities kept) for every layout: [N, C], [C], and [N, C, d1, ...]
// (whose rows are gathered into [M, C] first).
//
// Targets are checked inside the primitive, which flags any outside [0, C)
// that is not ignore_index; the error is raised through
// Backend::defer_error_check, at once on the CPU and at the next host
// synchronisation on a GPU (the loss's item()), so a training step never
// waits on the device to validate its targets.
#include "autograd/derivatives/cross_entropy.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/reduce.h"
#include "ops/loss_common.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index, double label_smoothing,
                     const std::string& reduction) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&logits}))
    return cross_entropy(c[0], target, ignore_index, label_smoothing, reduction);
  const char* op = "cross_entropy";
  const detail::Reduction r = detail::parse_reduction(op, reduction);
  KILN_CHECK(label_smoothing >= 0 && label_smoothing <= 1, ValueError, op,
             ": label_smoothing must be in [0, 1], got ", label_smoothing);
  const detail::ClassRows rows = detail::class_rows(op, logits, target);
  const Tensor& scores = rows.scores;
  const int64_t C = scores.size(1);
  const DType lse_dtype = scores.dtype() == kFloat64 ? kFloat64 : kFloat32;
  Tensor x = scores.detach().contiguous();
  Tensor t = rows.target.contiguous();
  Tensor per_row = detail::make_empty({x.size(0)}, x.dtype(), x.device());
  Tensor lse = detail::make_empty({x.size(0)}, lse_dtype, x.device());
  Tensor target_errors = zeros({2}, TensorOptions(kInt64).device(x.device()));
  detail::Backend& backend = detail::backend_of(x);
  backend.cross_entropy_forward(x, t, ignore_index, label_smoothing, per_row, lse, target_errors);
  backend.defer_error_check(target_errors, [C, ignore_index](int64_t count, int64_t value) {
    KILN_CHECK(count == 0, IndexError, "cross_entropy: target values must be in [0, ", C,
               ") or equal ignore_index ", ignore_index, ", got ", value, " (", count, " target",
               count == 1 ? "" : "s", " out of range)");
  });
  if (autograd::needs_grad({&scores})) {
    auto node = std::make_shared<autograd::FusedCrossEntropyBackward>();
    node->logits = autograd::SavedTensor(x);
    node->target = autograd::SavedTensor(t);
    node->lse = autograd::SavedTensor(lse);
    node->ignore_index = ignore_index;
    node->label_smoothing = label_smoothing;
    autograd::set_history(per_row, node, {&scores});
  }
  Tensor count;
  if (r == detail::Reduction::Mean) {
    NoGradGuard no_grad;
    count = sum((t != full({}, ignore_index, TensorOptions(kInt64).device(t.device()))).to(x.dtype()));
  }
  return detail::reduce_rows(per_row, count, r, rows.target_shape);
}

}  // namespace kiln
