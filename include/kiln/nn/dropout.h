// nn::Dropout: zeroes elements with probability p in training mode.
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

class DropoutImpl : public Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  double p;
};
using Dropout = ModuleHolder<DropoutImpl>;

}  // namespace kiln::nn
