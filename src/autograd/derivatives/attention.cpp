#include "autograd/derivatives/attention.h"

#include "ops/attention_layout.h"
#include "ops/op_util.h"

namespace kiln::autograd {

std::vector<Tensor> AttentionBackward::apply(const Tensor& grad) {
  Tensor q4 = q.unpack(*this), k4 = k.unpack(*this), v4 = v.unpack(*this);
  Tensor m = mask.defined() ? mask.unpack(*this) : Tensor();
  Tensor o = out.unpack(*this), l = lse.unpack(*this);
  Tensor go = detail::attention_operand(grad.reshape(o.sizes()));
  auto like = [](const Tensor& t) { return detail::attention_result_like(t, t.sizes(), t.dtype()); };
  Tensor gq = needs_input_grad(0) ? like(q4) : Tensor();
  Tensor gk = needs_input_grad(1) ? like(k4) : Tensor();
  Tensor gv = needs_input_grad(2) ? like(v4) : Tensor();
  detail::Backend& backend = detail::backend_of(q4);
  if (o.numel() > 0 && k4.size(2) > 0) {
    if (gq.defined() || gk.defined() || gv.defined())
      backend.attention_backward(go, q4, k4, v4, m, o, l, params, gq, gk, gv);
  } else {
    // No queries, no keys or no output dims: every gradient is zero (or empty).
    for (Tensor* t : {&gq, &gk, &gv})
      if (t->defined() && t->numel() > 0) backend.fill(*t, 0);
  }
  return {gq.defined() ? gq.reshape(q_sizes) : gq, gk.defined() ? gk.reshape(k_sizes) : gk,
          gv.defined() ? gv.reshape(v_sizes) : gv};
}

}  // namespace kiln::autograd
