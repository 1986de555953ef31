// cumsum: running sums along one dim (a backend scan over [outer, n, inner]);
// its gradient is the reversed running sum of the gradient.
#include "autograd/derivatives/cumsum.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/reduce.h"
#include "ops/cumsum_internal.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace detail {

Tensor running_sum(const Tensor& x, int64_t d, bool reverse) {
  NoGradGuard no_grad;
  const DType dtype = is_floating(x.dtype()) ? x.dtype() : kInt64;
  Tensor xc = x.detach().to(dtype).contiguous();
  Tensor out = make_empty(x.sizes(), dtype, x.device());
  if (out.numel() == 0) return out;
  RowGeometry g;
  if (x.dim() > 0) {
    for (int64_t i = 0; i < d; ++i) g.outer *= x.size(i);
    g.n = x.size(d);
    for (int64_t i = d + 1; i < x.dim(); ++i) g.inner *= x.size(i);
  }
  backend_of(x).cumsum(xc, g, reverse, out);
  return out;
}

}  // namespace detail

Tensor cumsum(const Tensor& x, int64_t dim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return cumsum(c[0], dim);
  detail::check_defined("cumsum", x);
  const int64_t d = detail::wrap_dim("cumsum", dim, x.dim());
  Tensor out = detail::running_sum(x, x.dim() == 0 ? 0 : d, false);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::CumsumBackward>();
    node->dim = x.dim() == 0 ? 0 : d;
    node->input_dtype = x.dtype();
    autograd::set_history(out, node, {&x});
  }
  return out;
}

}  // namespace kiln
