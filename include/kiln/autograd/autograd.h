// Autograd entry points beyond Tensor::backward(), with LibTorch's
// signatures (torch::autograd::backward / grad).
#pragma once
#include <optional>
#include <vector>

#include "kiln/autograd/function.h"
#include "kiln/core/grad_mode.h"
#include "kiln/core/tensor.h"

namespace kiln::autograd {

// Accumulates the gradients of `tensors` (weighted by `grad_tensors`, or ones
// for one-element tensors) into the leaves' .grad(). retain_graph defaults to
// create_graph; create_graph=true is not supported (kiln has no higher-order
// gradients) and throws AutogradError.
void backward(const std::vector<Tensor>& tensors, const std::vector<Tensor>& grad_tensors = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false);

// Gradients of `outputs` (weighted by `grad_outputs`, or ones for one-element
// outputs) with respect to `inputs`, returned rather than accumulated into
// .grad(). An input the outputs do not depend on is an AutogradError unless
// allow_unused, which gives an undefined tensor for it. create_graph as in
// backward().
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

}  // namespace kiln::autograd
