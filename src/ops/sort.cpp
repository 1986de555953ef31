// sort and topk: the backend sorts the rows of a contiguous [R, n] tensor,
// so the op moves `dim` last first and back afterwards. The values'
// gradient scatters back to where each value came from (GatherBackward:
// the values are x gathered at the indices).
#include "autograd/derivatives/indexing.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/sort.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

// x with dim moved last, contiguous, as [R, n].
Tensor rows_of(const Tensor& x, int64_t d) {
  Tensor t = x.detach().transpose(d, -1).contiguous();
  const int64_t n = t.size(-1);
  return t.reshape({n > 0 ? t.numel() / n : 0, n});
}

// Results [R, m] back to x's layout with dim holding m entries.
Tensor back_to(const Tensor& r, const Tensor& x, int64_t d, int64_t m) {
  Shape moved = x.sizes();
  std::swap(moved[d], moved.back());
  moved.back() = m;
  return r.reshape(moved).transpose(d, -1).contiguous();
}

// Records the gradient of values: x gathered at the indices along d.
std::tuple<Tensor, Tensor> finish(const Tensor& x, int64_t d, Tensor values, Tensor indices) {
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::GatherBackward>();
    node->index = autograd::SavedTensor(indices);
    node->input_sizes = x.sizes();
    node->dim = d;
    autograd::set_history(values, node, {&x});
  }
  return {values, indices};
}

// A 0-dim input is sorted as a [1] tensor (through a differentiable view).
template <class F>
std::tuple<Tensor, Tensor> on_scalar(const Tensor& x, F&& f) {
  auto [values, indices] = f(x.reshape({1}));
  return {values.reshape({}), indices.reshape({})};
}

}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& input, int64_t dim, bool descending, bool /*stable*/) {
  const char* op = "sort";
  detail::check_defined(op, input);
  if (input.dim() == 0) {
    detail::wrap_dim(op, dim, 0);
    return on_scalar(input, [&](const Tensor& x1) { return sort(x1, 0, descending); });
  }
  const Tensor& x = input;
  const int64_t d = detail::wrap_dim(op, dim, x.dim());
  const int64_t n = x.size(d);
  Tensor rows = rows_of(x, d);
  detail::check_computable("sort", x);
  Tensor values = detail::make_empty(rows.sizes(), x.dtype(), x.device());
  Tensor indices = detail::make_empty(rows.sizes(), kInt64, x.device());
  if (rows.numel() > 0) detail::backend_of(x).sort(rows, descending, values, indices);
  return finish(x, d, back_to(values, x, d, n), back_to(indices, x, d, n));
}

std::tuple<Tensor, Tensor> topk(const Tensor& input, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
  const char* op = "topk";
  detail::check_defined(op, input);
  if (input.dim() == 0) {
    detail::wrap_dim(op, dim, 0);
    KILN_CHECK(k == 0 || k == 1, ValueError, op, ": k (", k, ") must be in [0, 1] for a 0-dim input");
    // PyTorch returns the element itself for k = 0 too (a 0-dim result cannot be empty).
    return on_scalar(input, [&](const Tensor& x1) { return topk(x1, 1, 0, largest); });
  }
  const Tensor& x = input;
  const int64_t d = detail::wrap_dim(op, dim, x.dim());
  const int64_t n = x.size(d);
  KILN_CHECK(k >= 0 && k <= n, ValueError, op, ": k (", k, ") must be in [0, ", n, "] for dim ", d, " of input ",
             detail::describe(input));
  Tensor rows = rows_of(x, d);
  detail::check_computable("topk", x);
  Tensor values = detail::make_empty({rows.size(0), k}, x.dtype(), x.device());
  Tensor indices = detail::make_empty({rows.size(0), k}, kInt64, x.device());
  if (values.numel() > 0) detail::backend_of(x).topk(rows, k, largest, values, indices);
  return finish(x, d, back_to(values, x, d, k), back_to(indices, x, d, k));
}

}  // namespace kiln
