// Backward formula of cumsum (src/ops/cumsum.cpp): the gradient of a
// running sum is the reversed running sum of the gradient.
#pragma once
#include "autograd/node.h"
#include "backend/backend.h"

namespace kiln::autograd {

struct CumsumBackward : Node {
  int64_t dim = 0;
  DType input_dtype = kFloat32;
  std::string name() const override { return "CumsumBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

}  // namespace kiln::autograd
