// nn::Embedding: a lookup table of rows, weight [num_embeddings, embedding_dim].
#pragma once
#include <cstdint>
#include <optional>

#include "kiln/nn/module.h"

namespace kiln::nn {

// EmbeddingOptions(50257, 768).padding_idx(0). Of LibTorch's options kiln
// offers padding_idx (the row gets no gradient and starts at zero);
// max_norm, scale_grad_by_freq and sparse gradients are not offered.
class EmbeddingOptions {
 public:
  EmbeddingOptions(int64_t num_embeddings, int64_t embedding_dim)
      : num_embeddings_(num_embeddings), embedding_dim_(embedding_dim) {}
  EmbeddingOptions& num_embeddings(int64_t v) { num_embeddings_ = v; return *this; }
  EmbeddingOptions& embedding_dim(int64_t v) { embedding_dim_ = v; return *this; }
  // Negative values count from the end, as in PyTorch.
  EmbeddingOptions& padding_idx(std::optional<int64_t> v) { padding_idx_ = v; return *this; }
  int64_t num_embeddings() const { return num_embeddings_; }
  int64_t embedding_dim() const { return embedding_dim_; }
  const std::optional<int64_t>& padding_idx() const { return padding_idx_; }

 private:
  int64_t num_embeddings_, embedding_dim_;
  std::optional<int64_t> padding_idx_;
};

class EmbeddingImpl : public Cloneable<EmbeddingImpl> {
 public:
  explicit EmbeddingImpl(const EmbeddingOptions& options);
  EmbeddingImpl(int64_t num_embeddings, int64_t embedding_dim)
      : EmbeddingImpl(EmbeddingOptions(num_embeddings, embedding_dim)) {}
  // ids: int64 or int32 of any shape -> ids' shape + [embedding_dim].
  Tensor forward(const Tensor& ids);
  void reset() override;
  // N(0, 1), as PyTorch; the padding row (if any) zero.
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  EmbeddingOptions options;
  Tensor weight;  // [num_embeddings, embedding_dim]
};
using Embedding = ModuleHolder<EmbeddingImpl>;

}  // namespace kiln::nn
