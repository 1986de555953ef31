// softmax and log_softmax over one dim, with a fused backward. The
// [outer, n, inner] geometry of the reduced dim is computed here, once, for
// every backend and for the backward.
#include "autograd/derivatives/softmax.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/reduce.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

// A contiguous tensor of `sizes` as [outer, n, inner] around dim (a 0-dim
// tensor is one row of one element).
detail::RowGeometry rows_around(const Shape& sizes, int64_t dim) {
  detail::RowGeometry g;
  if (sizes.empty()) return g;
  for (int64_t d = 0; d < dim; ++d) g.outer *= sizes[d];
  g.n = sizes[dim];
  for (size_t d = static_cast<size_t>(dim) + 1; d < sizes.size(); ++d) g.inner *= sizes[d];
  return g;
}

Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  detail::check_defined(name, x);
  detail::check_floating(name, x);
  const int64_t d = detail::wrap_dim(name, dim, x.dim());
  const detail::RowGeometry g = rows_around(x.sizes(), d);
  Tensor xc = x.detach().contiguous();
  Tensor out = detail::make_empty(x.sizes(), x.dtype(), x.device());
  if (out.numel() > 0) detail::backend_of(x).softmax_forward(xc, g, log, out);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::SoftmaxBackward>();
    node->result = autograd::SavedTensor(out);
    node->geometry = g;
    node->log = log;
    autograd::set_history(out, node, {&x});
  }
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return softmax(c[0], dim);
  return softmax_impl("softmax", x, dim, false);
}
Tensor log_softmax(const Tensor& x, int64_t dim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return log_softmax(c[0], dim);
  return softmax_impl("log_softmax", x, dim, true);
}

}  // namespace kiln
