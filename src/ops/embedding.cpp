// embedding: rows of a weight matrix picked by ids, one backend primitive
// with a fused scatter-add backward. Ids are checked inside the primitive,
// which flags any outside [0, V); the error is raised through
// Backend::defer_error_check (at once on the CPU, at the next host
// synchronisation on a GPU), so a training step never waits on the device
// to validate its tokens.
#include "autograd/derivatives/embedding.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/transformer.h"
#include "ops/op_util.h"

namespace kiln {

Tensor embedding(const Tensor& weight, const Tensor& ids, std::optional<int64_t> padding_idx) {
  const char* op = "embedding";
  detail::check_defined(op, weight, "weight");
  detail::check_defined(op, ids, "ids");
  detail::check_same_device(op, {&weight, &ids});
  KILN_CHECK(weight.dim() == 2, ShapeError, op, ": weight must be [num_embeddings, dim], got ",
             detail::describe(weight));
  detail::check_floating(op, weight);
  KILN_CHECK(ids.dtype() == kInt64 || ids.dtype() == kInt32, DTypeError, op,
             ": ids must be int64 or int32, got ", detail::describe(ids));
  const int64_t V = weight.size(0), C = weight.size(1);
  int64_t pad = -1;
  if (padding_idx) {
    KILN_CHECK(*padding_idx >= -V && *padding_idx < V, ValueError, op, ": padding_idx must be in [", -V, ", ", V,
               ") for weight ", detail::describe(weight), ", got ", *padding_idx);
    pad = *padding_idx < 0 ? *padding_idx + V : *padding_idx;
  }
  Tensor flat = ids.detach().to(kInt64).contiguous().reshape({-1});
  Tensor w = weight.detach().contiguous();
  Shape out_shape = ids.sizes();
  out_shape.push_back(C);
  Tensor out = detail::make_empty({flat.size(0), C}, w.dtype(), w.device());
  if (flat.numel() > 0) {
    Tensor errors = zeros({2}, TensorOptions(kInt64).device(w.device()));
    detail::Backend& backend = detail::backend_of(w);
    backend.embedding_forward(w, flat, out, errors);
    backend.defer_error_check(errors, [V](int64_t count, int64_t value) {
      KILN_CHECK(count == 0, IndexError, "embedding: ids must be in [0, ", V, "), got ", value, " (", count, " id",
                 count == 1 ? "" : "s", " out of range)");
    });
  }
  out = out.reshape(out_shape);
  if (autograd::needs_grad({&weight})) {
    auto node = std::make_shared<autograd::EmbeddingBackward>();
    node->ids = autograd::SavedTensor(flat);
    node->num_weights = V;
    node->dim = C;
    node->padding_idx = pad;
    autograd::set_history(out, node, {&weight});
  }
  return out;
}

}  // namespace kiln
