#include "kiln/nn/transformer.h"

#include "kiln/ops/math.h"

namespace kiln::nn {

TransformerBlockImpl::TransformerBlockImpl(const TransformerBlockOptions& o) : Cloneable("TransformerBlock"), options(o) {
  reset();
}

void TransformerBlockImpl::reset() {
  const int64_t C = options.d_model();
  KILN_CHECK(options.dropout() >= 0 && options.dropout() < 1, ValueError,
             "TransformerBlock: dropout must be in [0, 1), got ", options.dropout());
  const auto norm = LayerNormOptions({C}).eps(options.layer_norm_eps()).bias(options.bias());
  ln_1 = register_module("ln_1", LayerNorm(norm));
  attn = register_module("attn", MultiheadAttention(MultiheadAttentionOptions(C, options.nhead())
                                                        .dropout(options.dropout())
                                                        .bias(options.bias())
                                                        .batch_first(true)
                                                        .causal(options.causal())));
  ln_2 = register_module("ln_2", LayerNorm(norm));
  fc = register_module("fc", Linear(LinearOptions(C, options.dim_feedforward()).bias(options.bias())));
  proj = register_module("proj", Linear(LinearOptions(options.dim_feedforward(), C).bias(options.bias())));
  resid_dropout = register_module("resid_dropout", Dropout(options.dropout()));
}

Tensor TransformerBlockImpl::mlp(const Tensor& x) { return proj(gelu(fc(x), "tanh")); }

Tensor TransformerBlockImpl::forward(const Tensor& x) {
  Tensor h = x + resid_dropout(attn->forward(ln_1(x)));
  return h + resid_dropout(mlp(ln_2(h)));
}

Tensor TransformerBlockImpl::forward_cached(const Tensor& x, KVCache& cache) {
  Tensor h = x + resid_dropout(attn->forward_cached(ln_1(x), cache));
  return h + resid_dropout(mlp(ln_2(h)));
}

void TransformerBlockImpl::pretty_print(std::ostream& os) const {
  os << "TransformerBlock(d_model=" << options.d_model() << ", nhead=" << options.nhead()
     << ", dim_feedforward=" << options.dim_feedforward() << ", dropout=" << options.dropout()
     << ", causal=" << (options.causal() ? "true" : "false") << ")";
}

}  // namespace kiln::nn
