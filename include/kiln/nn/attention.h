// nn::MultiheadAttention (torch.nn.MultiheadAttention): the query, key and
// value projections held as one fused in_proj_weight [3E, E], then
// scaled dot-product attention over num_heads heads, then out_proj.
//
//   nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(768, 12).batch_first(true).causal(true));
//   Tensor y = attn(x);                                // self-attention, fused kernel, no weights
//   auto [y2, w] = attn(q, k, v);                      // LibTorch's form: weights averaged over heads
//
// need_weights = false (and the one-argument self-attention) runs the fused
// scaled_dot_product_attention, which never holds the T x T scores; with
// need_weights = true the probabilities are computed explicitly (matmul,
// softmax, matmul), because they are returned.
//
// For generation, forward_cached(x, cache) attends the new positions x to
// every position seen before (kept in a KVCache) and to themselves, and
// appends their keys and values, so each new token costs one token's work.
#pragma once
#include <cstdint>
#include <tuple>

#include "kiln/nn/linear.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

class MultiheadAttentionOptions {
 public:
  MultiheadAttentionOptions(int64_t embed_dim, int64_t num_heads) : embed_dim_(embed_dim), num_heads_(num_heads) {}
  MultiheadAttentionOptions& embed_dim(int64_t v) { embed_dim_ = v; return *this; }
  MultiheadAttentionOptions& num_heads(int64_t v) { num_heads_ = v; return *this; }
  // Dropout on the attention probabilities, in training mode only.
  MultiheadAttentionOptions& dropout(double v) { dropout_ = v; return *this; }
  // in_proj_bias and out_proj.bias.
  MultiheadAttentionOptions& bias(bool v) { bias_ = v; return *this; }
  // Inputs and outputs [B, T, E] (PyTorch's batch_first=True) instead of
  // LibTorch's [T, B, E].
  MultiheadAttentionOptions& batch_first(bool v) { batch_first_ = v; return *this; }
  // Every forward is causal: query i sees keys j <= i (a kiln option;
  // PyTorch passes is_causal with each call).
  MultiheadAttentionOptions& causal(bool v) { causal_ = v; return *this; }
  int64_t embed_dim() const { return embed_dim_; }
  int64_t num_heads() const { return num_heads_; }
  double dropout() const { return dropout_; }
  bool bias() const { return bias_; }
  bool batch_first() const { return batch_first_; }
  bool causal() const { return causal_; }

 private:
  int64_t embed_dim_, num_heads_;
  double dropout_ = 0.0;
  bool bias_ = true;
  bool batch_first_ = false;
  bool causal_ = false;
};

// The keys and values of the positions processed so far, per head:
// buffers [B, H, capacity, D] of which the first length() positions are
// filled. The buffers grow by doubling, so appending is amortised O(new
// positions). One cache belongs to one attention layer and one batch of
// sequences; reset() starts a new sequence and keeps the memory.
class KVCache {
 public:
  int64_t length() const { return length_; }
  int64_t capacity() const { return keys_.defined() ? keys_.size(2) : 0; }
  void reset() { length_ = 0; }
  // [B, H, length, D] views of the filled part (undefined before the first append).
  Tensor keys() const;
  Tensor values() const;
  // Appends k, v [B, H, T, D] (the batch, heads, dtype and device of the
  // cache's first append; ShapeError otherwise).
  void append(const Tensor& k, const Tensor& v);

 private:
  Tensor keys_, values_;
  int64_t length_ = 0;
};

class MultiheadAttentionImpl : public Cloneable<MultiheadAttentionImpl> {
 public:
  explicit MultiheadAttentionImpl(const MultiheadAttentionOptions& options);
  MultiheadAttentionImpl(int64_t embed_dim, int64_t num_heads)
      : MultiheadAttentionImpl(MultiheadAttentionOptions(embed_dim, num_heads)) {}

  // LibTorch's forward. query [Tq, B, E], key and value [Tk, B, E] (or
  // [B, T, E] with batch_first; unbatched [T, E] too). key_padding_mask
  // [B, Tk] and attn_mask [Tq, Tk] or [B*H, Tq, Tk] follow PyTorch's
  // MultiheadAttention: a bool true means "may not attend", a floating mask
  // is added to the scores. is_causal (or options.causal) adds the causal
  // mask. Returns the output and, with need_weights, the attention
  // probabilities [B, Tq, Tk] averaged over heads (average_attn_weights) or
  // [B, H, Tq, Tk]; without need_weights an undefined tensor.
  std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                     const Tensor& key_padding_mask = Tensor(), bool need_weights = true,
                                     const Tensor& attn_mask = Tensor(), bool average_attn_weights = true,
                                     bool is_causal = false);
  // Self-attention of x (need_weights = false: the fused kernel), causal when options.causal.
  Tensor forward(const Tensor& x);
  // Self-attention of the new positions x (layout as forward's) to the
  // cache's positions and to each other (causally: this is decoding, so
  // options.causal is implied), appending their keys and values to cache.
  // Records no gradients.
  Tensor forward_cached(const Tensor& x, KVCache& cache);

  void reset() override;
  // PyTorch's: in_proj_weight xavier_uniform_, biases zero, out_proj.weight
  // as a Linear's.
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  int64_t head_dim() const { return options.embed_dim() / options.num_heads(); }

  MultiheadAttentionOptions options;
  Tensor in_proj_weight;  // [3E, E]: the query, key and value rows in that order
  Tensor in_proj_bias;    // [3E] or undefined
  Linear out_proj{nullptr};

 private:
  // [B, T, E] (batch first) -> [B, H, T, D].
  Tensor split_heads(const Tensor& x) const;
  // Output projection of [B, H, T, D], in the caller's layout.
  Tensor merge_heads(const Tensor& y, bool batched) const;
  // q, k, v [B, H, T, D] of batch-first inputs; one fused projection when the three are the same tensor.
  std::tuple<Tensor, Tensor, Tensor> project(const Tensor& query, const Tensor& key, const Tensor& value) const;
};
using MultiheadAttention = ModuleHolder<MultiheadAttentionImpl>;

}  // namespace kiln::nn
