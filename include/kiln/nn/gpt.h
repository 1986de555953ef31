// nn::GPT: a GPT-2 style decoder-only language model.
//
//   token ids [B, T] -> wte(ids) + wpe(0..T-1) -> dropout -> n_layer TransformerBlocks
//   -> ln_f -> logits [B, T, vocab_size] = x @ wte.weight^T   (the LM head is tied to wte)
//
//   nn::GPT model(nn::GPTConfig::gpt2());                   // 124,439,808 parameters
//   Tensor logits = model(ids);                             // [B, T, 50257]
//   Tensor out = model->generate(prompt, 100, {/*temperature=*/0.8, /*top_k=*/40});
//
// Initialisation is GPT-2's: every linear and embedding weight N(0, 0.02),
// biases zero, layer norms one/zero, and the two residual projections of
// each block (attn.out_proj, proj) N(0, 0.02 / sqrt(2 * n_layer)), so the
// residual stream's variance does not grow with depth.
//
// Hugging Face: load_gpt2_state_dict() takes the tensors of a
// GPT2LMHeadModel safetensors file (io::load_safetensors(path).tensors):
//   model->load_gpt2_state_dict(kiln::io::load_safetensors("model.safetensors").tensors);
#pragma once
#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "kiln/core/state_dict.h"
#include "kiln/nn/attention.h"
#include "kiln/nn/dropout.h"
#include "kiln/nn/embedding.h"
#include "kiln/nn/module.h"
#include "kiln/nn/module_list.h"
#include "kiln/nn/normalization.h"
#include "kiln/nn/transformer.h"

namespace kiln::nn {

// GPTConfig().vocab_size(256).block_size(64).n_layer(4).n_head(4).n_embd(128).
// The defaults are GPT-2 124M's.
class GPTConfig {
 public:
  GPTConfig& vocab_size(int64_t v) { vocab_size_ = v; return *this; }
  // The longest sequence (the number of position embeddings).
  GPTConfig& block_size(int64_t v) { block_size_ = v; return *this; }
  GPTConfig& n_layer(int64_t v) { n_layer_ = v; return *this; }
  GPTConfig& n_head(int64_t v) { n_head_ = v; return *this; }
  GPTConfig& n_embd(int64_t v) { n_embd_ = v; return *this; }
  // After the embeddings, on the attention probabilities and on every residual branch (training only).
  GPTConfig& dropout(double v) { dropout_ = v; return *this; }
  // Biases in the linear layers and layer norms (GPT-2 has them).
  GPTConfig& bias(bool v) { bias_ = v; return *this; }
  GPTConfig& layer_norm_eps(double v) { layer_norm_eps_ = v; return *this; }
  int64_t vocab_size() const { return vocab_size_; }
  int64_t block_size() const { return block_size_; }
  int64_t n_layer() const { return n_layer_; }
  int64_t n_head() const { return n_head_; }
  int64_t n_embd() const { return n_embd_; }
  double dropout() const { return dropout_; }
  bool bias() const { return bias_; }
  double layer_norm_eps() const { return layer_norm_eps_; }

  // GPT-2 124M: 12 layers, 12 heads, 768 wide, 1024 positions, 50257 tokens.
  static GPTConfig gpt2() { return GPTConfig(); }
  // A model for tests and the CPU: 2 layers, 2 heads, 32 wide, 64 positions.
  static GPTConfig tiny(int64_t vocab_size = 256) {
    return GPTConfig().vocab_size(vocab_size).block_size(64).n_layer(2).n_head(2).n_embd(32);
  }
  // What a Hugging Face GPT2LMHeadModel's tensors say about its shape:
  // vocab_size, block_size, n_embd and n_layer from the tensors; the number
  // of heads is not in them and must be given. ValueError when the tensors
  // are not a GPT-2's.
  static GPTConfig from_gpt2_state_dict(const StateDict& hf, int64_t n_head);

 private:
  int64_t vocab_size_ = 50257, block_size_ = 1024, n_layer_ = 12, n_head_ = 12, n_embd_ = 768;
  double dropout_ = 0.0;
  bool bias_ = true;
  double layer_norm_eps_ = 1e-5;
};

// Sampling for GPT::generate: {temperature, top_k, top_p, seed}, or
// GenerateOptions().temperature(0.8).top_k(40). temperature 0 picks the
// most likely token (greedy); top_k > 0 keeps the k most likely tokens;
// top_p < 1 keeps the smallest set of most likely tokens whose probability
// reaches top_p (nucleus sampling). seed: draw from a generator seeded so
// (the default generator's state is put back afterwards); unset draws from
// the default generator as it stands.
class GenerateOptions {
 public:
  GenerateOptions(double temperature = 1.0, int64_t top_k = 0, double top_p = 1.0,  // NOLINT: {0.8, 40}
                  std::optional<uint64_t> seed = std::nullopt)
      : temperature_(temperature), top_k_(top_k), top_p_(top_p), seed_(seed) {}
  GenerateOptions& temperature(double v) { temperature_ = v; return *this; }
  GenerateOptions& top_k(int64_t v) { top_k_ = v; return *this; }
  GenerateOptions& top_p(double v) { top_p_ = v; return *this; }
  GenerateOptions& seed(std::optional<uint64_t> v) { seed_ = v; return *this; }
  double temperature() const { return temperature_; }
  int64_t top_k() const { return top_k_; }
  double top_p() const { return top_p_; }
  const std::optional<uint64_t>& seed() const { return seed_; }

 private:
  double temperature_;
  int64_t top_k_;
  double top_p_;
  std::optional<uint64_t> seed_;
};

// The keys and values of every layer for incremental decoding.
struct GPTCache {
  std::vector<KVCache> layers;
  // Positions processed so far (the position index of the next token).
  int64_t length() const { return layers.empty() ? 0 : layers.front().length(); }
  void reset() {
    for (auto& l : layers) l.reset();
  }
};

class GPTImpl : public Cloneable<GPTImpl> {
 public:
  explicit GPTImpl(const GPTConfig& config);
  // ids [B, T] (or [T]) int64 token ids, T <= block_size -> logits [B, T, vocab_size] (or [T, vocab]).
  Tensor forward(const Tensor& ids);
  // The new tokens ids [B, T] after the cache's positions: their logits, and
  // their keys and values appended to the cache. Records no gradients.
  // cache.length() + T must not exceed block_size.
  Tensor forward_cached(const Tensor& ids, GPTCache& cache);
  GPTCache make_cache() const;

  // prompt_ids [T] or [B, T] (int64, at least one token) followed by
  // max_new_tokens sampled tokens: [T + new] or [B, T + new]. Uses the KV
  // cache, so each new token costs one token's forward. When the sequence
  // would pass block_size, the cache is rebuilt from the last block_size / 2
  // tokens (their positions restart at 0) and decoding goes on from there.
  // Runs in eval mode without gradients and restores the mode.
  Tensor generate(const Tensor& prompt_ids, int64_t max_new_tokens, const GenerateOptions& options = {});

  // GPT-2's initialisation (see the top of this file).
  void reset_parameters();
  void reset() override;
  void pretty_print(std::ostream& os) const override;

  // The parameters weight decay applies to (every matrix: linear and
  // embedding weights) and the rest (biases, layer-norm gains), for two
  // optimizer parameter groups, as GPT-2 / nanoGPT train.
  std::pair<std::vector<Tensor>, std::vector<Tensor>> parameters_for_weight_decay() const;

  // Copies a Hugging Face GPT2LMHeadModel's tensors into this model: names
  // "transformer.wte.weight", "transformer.h.<i>.attn.c_attn.weight", ...
  // (the "transformer." prefix is optional; "lm_head.weight" is the tied
  // wte and checked only for shape; the "attn.bias" / "attn.masked_bias"
  // mask buffers are ignored). GPT-2's Conv1D weights are stored [in, out]
  // and are transposed. One ValueError lists every missing, unexpected or
  // wrongly shaped tensor, and then nothing is copied.
  void load_gpt2_state_dict(const StateDict& hf);
  // This model's tensors under Hugging Face GPT2LMHeadModel's names (Conv1D
  // weights [in, out]); io::save_safetensors writes a file transformers reads.
  StateDict gpt2_state_dict() const;

  const GPTConfig& config() const { return config_; }

  Embedding wte{nullptr};  // [vocab_size, n_embd], also the LM head
  Embedding wpe{nullptr};  // [block_size, n_embd]
  Dropout drop{nullptr};
  ModuleList h{nullptr};   // n_layer TransformerBlocks
  LayerNorm ln_f{nullptr};

  TransformerBlockImpl& block(size_t i) const { return h->at<TransformerBlockImpl>(i); }

 private:
  Tensor head(const Tensor& x, bool batched);
  Tensor embed(const Tensor& ids, int64_t first_position);

  GPTConfig config_;
};
using GPT = ModuleHolder<GPTImpl>;

}  // namespace kiln::nn
