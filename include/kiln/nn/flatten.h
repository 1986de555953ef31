// nn::Flatten: merges dims start_dim..end_dim (default: all but the batch dim).
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

class FlattenImpl : public Module {
 public:
  explicit FlattenImpl(int64_t start_dim = 1, int64_t end_dim = -1);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;
  int64_t start_dim, end_dim;
};
using Flatten = ModuleHolder<FlattenImpl>;

}  // namespace kiln::nn
