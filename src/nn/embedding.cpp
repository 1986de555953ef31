#include "kiln/nn/embedding.h"

#include "kiln/core/grad_mode.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/transformer.h"

namespace kiln::nn {

EmbeddingImpl::EmbeddingImpl(const EmbeddingOptions& o) : Cloneable("Embedding"), options(o) { reset(); }

void EmbeddingImpl::reset() {
  const int64_t n = options.num_embeddings(), d = options.embedding_dim();
  KILN_CHECK(n > 0 && d >= 0, ValueError, "Embedding: num_embeddings must be > 0 and embedding_dim >= 0, got ", n,
             " and ", d);
  if (const auto& p = options.padding_idx()) {
    KILN_CHECK(*p >= -n && *p < n, ValueError, "Embedding: padding_idx ", *p, " is outside [", -n, ", ", n,
               ") for num_embeddings ", n);
    if (*p < 0) options.padding_idx(*p + n);
  }
  weight = register_parameter("weight", empty({n, d}));
  reset_parameters();
}

void EmbeddingImpl::reset_parameters() {
  init::normal_(weight);
  if (const auto& p = options.padding_idx()) {
    NoGradGuard no_grad;
    weight.select(0, *p).zero_();
  }
}

Tensor EmbeddingImpl::forward(const Tensor& ids) { return embedding(weight, ids, options.padding_idx()); }

void EmbeddingImpl::pretty_print(std::ostream& os) const {
  os << "Embedding(num_embeddings=" << options.num_embeddings() << ", embedding_dim=" << options.embedding_dim();
  if (options.padding_idx()) os << ", padding_idx=" << *options.padding_idx();
  os << ")";
}

}  // namespace kiln::nn
