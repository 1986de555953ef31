// Backward formulas of joining and indexing ops (src/ops/indexing.cpp).
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

struct CatBackward : Node {
  int64_t dim = 0;
  std::vector<int64_t> lengths;  // each input's size along dim
  std::string name() const override { return "CatBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

// parts = split(x, sizes, dim), all views of x, one node for all of them:
// gx = cat(part gradients) (zeros for a part no gradient reached), one pass,
// where one SliceBackward per part zero-filled and summed x-sized buffers.
struct SplitBackward : Node {
  int64_t dim = 0;
  std::vector<Shape> part_sizes;
  TensorOptions options;
  std::string name() const override { return "SplitBackward"; }
  size_t num_outputs() const override { return part_sizes.size(); }
  std::vector<Tensor> apply_outputs(const std::vector<Tensor>& grads) override;
  std::vector<Tensor> apply(const Tensor& grad) override;
};

// out = x.index_select(dim, index): gx = zeros.index_add(dim, index, grad).
struct IndexSelectBackward : Node {
  SavedTensor index;
  Shape input_sizes;
  int64_t dim = 0;
  std::string name() const override { return "IndexSelectBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { index.reset(); }
};

// out = x.gather(dim, index): gx = zeros.scatter_add(dim, index, grad).
struct GatherBackward : Node {
  SavedTensor index;
  Shape input_sizes;
  int64_t dim = 0;
  std::string name() const override { return "GatherBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { index.reset(); }
};

// out = self.scatter_add(dim, index, src): gself = grad, gsrc = grad.gather(dim, index).
struct ScatterAddBackward : Node {
  SavedTensor index;
  int64_t dim = 0;
  std::string name() const override { return "ScatterAddBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { index.reset(); }
};

}  // namespace kiln::autograd
