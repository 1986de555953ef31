// nn::Identity: returns its input (a placeholder, e.g. for a removed head).
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

class IdentityImpl : public Cloneable<IdentityImpl> {
 public:
  void reset() override {}
  IdentityImpl() : Cloneable("Identity") {}
  Tensor forward(const Tensor& x) { return x; }
};
using Identity = ModuleHolder<IdentityImpl>;

}  // namespace kiln::nn
