// Autograd entry points beyond Tensor::backward().
#pragma once
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::autograd {

// Gradients of `outputs` (weighted by `grad_outputs`, or ones for scalars)
// with respect to `inputs`, returned rather than accumulated into .grad().
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, bool retain_graph = false,
                         bool allow_unused = false);

}  // namespace kiln::autograd
