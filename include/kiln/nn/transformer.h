// nn::TransformerBlock: one pre-norm (GPT-2) decoder block,
//   x = x + dropout(attn(ln_1(x)))
//   x = x + dropout(proj(gelu_tanh(fc(ln_2(x)))))
// with causal self-attention over [B, T, C] inputs. (PyTorch's
// TransformerEncoderLayer with norm_first=True and GELU is the same
// computation, with ReLU and post-norm as its defaults instead.)
#pragma once
#include <cstdint>

#include "kiln/nn/attention.h"
#include "kiln/nn/dropout.h"
#include "kiln/nn/linear.h"
#include "kiln/nn/module.h"
#include "kiln/nn/normalization.h"

namespace kiln::nn {

class TransformerBlockOptions {
 public:
  TransformerBlockOptions(int64_t d_model, int64_t nhead) : d_model_(d_model), nhead_(nhead) {}
  TransformerBlockOptions& d_model(int64_t v) { d_model_ = v; return *this; }
  TransformerBlockOptions& nhead(int64_t v) { nhead_ = v; return *this; }
  // The MLP's hidden width; 0 means 4 * d_model.
  TransformerBlockOptions& dim_feedforward(int64_t v) { dim_feedforward_ = v; return *this; }
  // On the attention probabilities and on both residual branches (training only).
  TransformerBlockOptions& dropout(double v) { dropout_ = v; return *this; }
  TransformerBlockOptions& layer_norm_eps(double v) { layer_norm_eps_ = v; return *this; }
  // Biases of the linear layers and the layer norms.
  TransformerBlockOptions& bias(bool v) { bias_ = v; return *this; }
  TransformerBlockOptions& causal(bool v) { causal_ = v; return *this; }
  int64_t d_model() const { return d_model_; }
  int64_t nhead() const { return nhead_; }
  int64_t dim_feedforward() const { return dim_feedforward_ > 0 ? dim_feedforward_ : 4 * d_model_; }
  double dropout() const { return dropout_; }
  double layer_norm_eps() const { return layer_norm_eps_; }
  bool bias() const { return bias_; }
  bool causal() const { return causal_; }

 private:
  int64_t d_model_, nhead_;
  int64_t dim_feedforward_ = 0;
  double dropout_ = 0.0;
  double layer_norm_eps_ = 1e-5;
  bool bias_ = true;
  bool causal_ = true;
};

class TransformerBlockImpl : public Cloneable<TransformerBlockImpl> {
 public:
  explicit TransformerBlockImpl(const TransformerBlockOptions& options);
  TransformerBlockImpl(int64_t d_model, int64_t nhead) : TransformerBlockImpl(TransformerBlockOptions(d_model, nhead)) {}
  // x [B, T, C] -> [B, T, C].
  Tensor forward(const Tensor& x);
  // The new positions x [B, T, C] after the cache's (see MultiheadAttention::forward_cached).
  Tensor forward_cached(const Tensor& x, KVCache& cache);
  void reset() override;
  void pretty_print(std::ostream& os) const override;

  TransformerBlockOptions options;
  LayerNorm ln_1{nullptr};
  MultiheadAttention attn{nullptr};
  LayerNorm ln_2{nullptr};
  Linear fc{nullptr};    // C -> dim_feedforward
  Linear proj{nullptr};  // dim_feedforward -> C (a residual projection, like attn->out_proj)
  Dropout resid_dropout{nullptr};

 private:
  Tensor mlp(const Tensor& x);
};
using TransformerBlock = ModuleHolder<TransformerBlockImpl>;

}  // namespace kiln::nn
