// Parameter initialisation, in place and without recording gradients
// (torch.nn.init). Random draws come from the default Philox generator.
#pragma once
#include <cstdint>
#include <string>
#include <utility>

#include "kiln/core/tensor.h"
#include "kiln/nn/enums.h"

namespace kiln::nn::init {

// The recommended gain for a nonlinearity: "linear", "conv2d", "sigmoid" -> 1,
// "tanh" -> 5/3, "relu" -> sqrt(2), "leaky_relu" -> sqrt(2/(1+param^2)), "selu" -> 3/4.
double calculate_gain(const std::string& nonlinearity, double param = 0.01);
// fan_in = size(1) * receptive field, fan_out = size(0) * receptive field;
// needs at least 2 dims.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t);

Tensor uniform_(Tensor t, double low = 0.0, double high = 1.0);
Tensor normal_(Tensor t, double mean = 0.0, double std = 1.0);
Tensor constant_(Tensor t, double value);
Tensor zeros_(Tensor t);
Tensor ones_(Tensor t);
// mode "fan_in" or "fan_out"; bound = gain * sqrt(3 / fan), gain from nonlinearity with param a.
Tensor kaiming_uniform_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                        const std::string& nonlinearity = "leaky_relu");
Tensor kaiming_normal_(Tensor t, double a = 0.0, const std::string& mode = "fan_in",
                       const std::string& nonlinearity = "leaky_relu");
// LibTorch's enum spellings: kaiming_normal_(w, 0, kiln::kFanOut, kiln::kReLU).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity = kiln::kLeakyReLU);
Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity = kiln::kLeakyReLU);
// The string each enum value stands for ("fan_in", "relu", ...).
const char* fan_mode_name(FanMode mode);
const char* nonlinearity_name(Nonlinearity nonlinearity);

Tensor xavier_uniform_(Tensor t, double gain = 1.0);
Tensor xavier_normal_(Tensor t, double gain = 1.0);

// PyTorch's default for Linear and Conv2d: weight kaiming_uniform_(a=sqrt(5))
// (= U(-1/sqrt(fan_in), 1/sqrt(fan_in))), bias U(-1/sqrt(fan_in), 1/sqrt(fan_in)).
void default_linear_or_conv_init(Tensor weight, Tensor bias);

}  // namespace kiln::nn::init
