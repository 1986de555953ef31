// softmax and log_softmax over one dim, with a fused backward.
#include "autograd/derivatives/reduce.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/reduce.h"
#include "ops/op_util.h"

namespace kiln {

static Tensor softmax_impl(const char* name, const Tensor& x, int64_t dim, bool log) {
  detail::check_defined(name, x);
  detail::check_floating(name, x);
  const int64_t d = detail::wrap_dim(name, dim, x.dim());
  Tensor xc = x.detach().contiguous();
  Tensor out = detail::make_empty(x.sizes(), x.dtype(), x.device());
  if (out.numel() > 0) detail::backend_of(x).softmax_forward(x.dim() == 0 ? xc.reshape({1}) : xc, x.dim() == 0 ? 0 : d, log, out);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::SoftmaxBackward>();
    node->result = autograd::SavedTensor(out);
    node->dim = x.dim() == 0 ? 0 : d;
    node->log = log;
    autograd::set_history(out, node, {&x});
  }
  return out;
}

Tensor softmax(const Tensor& x, int64_t dim) { return softmax_impl("softmax", x, dim, false); }
Tensor log_softmax(const Tensor& x, int64_t dim) { return softmax_impl("log_softmax", x, dim, true); }

}  // namespace kiln
