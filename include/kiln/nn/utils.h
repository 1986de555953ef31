// nn::utils (torch::nn::utils): parameters as one flat vector and back.
// clip_grad_norm_ / clip_grad_value_ are kiln::optim's (kiln/optim/clip_grad.h);
// <kiln/nn.h> makes them visible as nn::utils:: too, because nn and optim
// sit on one layer and include neither the other (docs/architecture.md).
#pragma once
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::nn::utils {

// The parameters flattened and concatenated, in order: a 1-D tensor that is
// differentiable with respect to them. All on one device, of one dtype.
Tensor parameters_to_vector(const std::vector<Tensor>& parameters);
// Copies consecutive slices of vec into the parameters (without recording
// gradients); vec must have exactly their total number of elements.
void vector_to_parameters(const Tensor& vec, const std::vector<Tensor>& parameters);

}  // namespace kiln::nn::utils
