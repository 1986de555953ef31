// Backward formula of embedding (src/ops/embedding.cpp): the backend's
// embedding_backward, a scatter-add of the gradient rows by id.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

struct EmbeddingBackward : Node {
  SavedTensor ids;  // int64 [N], contiguous
  int64_t num_weights = 0, dim = 0;
  int64_t padding_idx = -1;  // -1: none
  std::string name() const override { return "EmbeddingBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { ids.reset(); }
};

}  // namespace kiln::autograd
