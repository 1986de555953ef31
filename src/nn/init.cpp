#include "kiln/nn/init.h"

#include <cmath>

#include "core/tensor_checks.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"

namespace kiln::nn::init {

namespace {
TensorOptions like(const Tensor& t) { return TensorOptions(t.dtype()).device(t.device()); }

void check_target(const char* op, const Tensor& t) {
  detail::check_defined(op, t, "tensor");
  detail::check_floating(op, t);
}

int64_t fan_for(const char* op, const Tensor& t, const std::string& mode) {
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  KILN_CHECK(mode == "fan_in" || mode == "fan_out", ValueError, op, ": mode must be \"fan_in\" or \"fan_out\", got \"",
             mode, "\"");
  const int64_t fan = mode == "fan_in" ? fan_in : fan_out;
  KILN_CHECK(fan > 0, ValueError, op, ": ", mode, " of ", detail::describe(t), " is 0");
  return fan;
}
}  // namespace

double calculate_gain(const std::string& nonlinearity, double param) {
  if (nonlinearity == "linear" || nonlinearity == "conv2d" || nonlinearity == "sigmoid" ||
      nonlinearity == "conv1d" || nonlinearity == "conv3d")
    return 1.0;
  if (nonlinearity == "tanh") return 5.0 / 3.0;
  if (nonlinearity == "relu") return std::sqrt(2.0);
  if (nonlinearity == "leaky_relu") return std::sqrt(2.0 / (1.0 + param * param));
  if (nonlinearity == "selu") return 0.75;
  KILN_CHECK(false, ValueError, "calculate_gain: unsupported nonlinearity \"", nonlinearity, "\"");
  return 1.0;
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& t) {
  detail::check_defined("calculate_fan_in_and_fan_out", t, "tensor");
  KILN_CHECK(t.dim() >= 2, ShapeError, "calculate_fan_in_and_fan_out: needs a tensor with at least 2 dims, got ",
             detail::describe(t));
  int64_t receptive = 1;
  for (int64_t d = 2; d < t.dim(); ++d) receptive *= t.size(d);
  return {t.size(1) * receptive, t.size(0) * receptive};
}

Tensor uniform_(Tensor t, double low, double high) {
  check_target("uniform_", t);
  NoGradGuard no_grad;
  t.copy_(rand(t.sizes(), like(t)) * (high - low) + low);
  return t;
}

Tensor normal_(Tensor t, double mean, double std) {
  check_target("normal_", t);
  NoGradGuard no_grad;
  t.copy_(randn(t.sizes(), like(t)) * std + mean);
  return t;
}

Tensor constant_(Tensor t, double value) {
  detail::check_defined("constant_", t, "tensor");
  NoGradGuard no_grad;
  t.fill_(value);
  return t;
}
Tensor zeros_(Tensor t) { return constant_(std::move(t), 0.0); }
Tensor ones_(Tensor t) { return constant_(std::move(t), 1.0); }

Tensor kaiming_uniform_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity) {
  check_target("kaiming_uniform_", t);
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan_for("kaiming_uniform_", t, mode)));
  const double bound = std::sqrt(3.0) * std;
  return uniform_(std::move(t), -bound, bound);
}

Tensor kaiming_normal_(Tensor t, double a, const std::string& mode, const std::string& nonlinearity) {
  check_target("kaiming_normal_", t);
  const double std = calculate_gain(nonlinearity, a) / std::sqrt(static_cast<double>(fan_for("kaiming_normal_", t, mode)));
  return normal_(std::move(t), 0.0, std);
}

Tensor xavier_uniform_(Tensor t, double gain) {
  check_target("xavier_uniform_", t);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  const double std = gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out));
  const double bound = std::sqrt(3.0) * std;
  return uniform_(std::move(t), -bound, bound);
}

Tensor xavier_normal_(Tensor t, double gain) {
  check_target("xavier_normal_", t);
  auto [fan_in, fan_out] = calculate_fan_in_and_fan_out(t);
  return normal_(std::move(t), 0.0, gain * std::sqrt(2.0 / static_cast<double>(fan_in + fan_out)));
}

const char* fan_mode_name(FanMode mode) { return mode == FanMode::FanOut ? "fan_out" : "fan_in"; }

const char* nonlinearity_name(Nonlinearity n) {
  switch (n) {
    case Nonlinearity::Linear: return "linear";
    case Nonlinearity::Conv1d: return "conv1d";
    case Nonlinearity::Conv2d: return "conv2d";
    case Nonlinearity::Conv3d: return "conv3d";
    case Nonlinearity::Sigmoid: return "sigmoid";
    case Nonlinearity::Tanh: return "tanh";
    case Nonlinearity::ReLU: return "relu";
    case Nonlinearity::LeakyReLU: return "leaky_relu";
    case Nonlinearity::SELU: return "selu";
  }
  return "linear";
}

double calculate_gain(Nonlinearity nonlinearity, double param) {
  return calculate_gain(std::string(nonlinearity_name(nonlinearity)), param);
}
Tensor kaiming_uniform_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  return kaiming_uniform_(std::move(t), a, std::string(fan_mode_name(mode)), std::string(nonlinearity_name(nonlinearity)));
}
Tensor kaiming_normal_(Tensor t, double a, FanMode mode, Nonlinearity nonlinearity) {
  return kaiming_normal_(std::move(t), a, std::string(fan_mode_name(mode)), std::string(nonlinearity_name(nonlinearity)));
}

void default_linear_or_conv_init(Tensor weight, Tensor bias) {
  kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    const int64_t fan_in = calculate_fan_in_and_fan_out(weight).first;
    const double bound = fan_in > 0 ? 1.0 / std::sqrt(static_cast<double>(fan_in)) : 0.0;
    uniform_(bias, -bound, bound);
  }
}

}  // namespace kiln::nn::init
