// nn::Flatten: merges dims start_dim..end_dim (default: all but the batch dim).
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

class FlattenOptions {
 public:
  FlattenOptions& start_dim(int64_t v) { start_dim_ = v; return *this; }
  FlattenOptions& end_dim(int64_t v) { end_dim_ = v; return *this; }
  int64_t start_dim() const { return start_dim_; }
  int64_t end_dim() const { return end_dim_; }

 private:
  int64_t start_dim_ = 1, end_dim_ = -1;
};

class FlattenImpl : public Cloneable<FlattenImpl> {
 public:
  void reset() override {}
  explicit FlattenImpl(const FlattenOptions& options = {});
  FlattenImpl(int64_t start_dim, int64_t end_dim = -1)
      : FlattenImpl(FlattenOptions().start_dim(start_dim).end_dim(end_dim)) {}
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;
  FlattenOptions options;
};
using Flatten = ModuleHolder<FlattenImpl>;

}  // namespace kiln::nn
