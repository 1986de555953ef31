// nn::Linear: y = x @ weight^T + bias.
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

class LinearImpl : public Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x);
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  int64_t in_features, out_features;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or undefined
};
using Linear = ModuleHolder<LinearImpl>;

}  // namespace kiln::nn
