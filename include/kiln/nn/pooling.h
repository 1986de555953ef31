// Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (no parameters).
#pragma once
#include <optional>

#include "kiln/nn/module.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

class MaxPool2dImpl : public Module {
 public:
  explicit MaxPool2dImpl(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                         bool ceil_mode = false);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  Size2 kernel_size, stride, padding;
  bool ceil_mode;
};
using MaxPool2d = ModuleHolder<MaxPool2dImpl>;

class AvgPool2dImpl : public Module {
 public:
  explicit AvgPool2dImpl(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                         bool ceil_mode = false, bool count_include_pad = true);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  Size2 kernel_size, stride, padding;
  bool ceil_mode, count_include_pad;
};
using AvgPool2d = ModuleHolder<AvgPool2dImpl>;

class AdaptiveAvgPool2dImpl : public Module {
 public:
  explicit AdaptiveAvgPool2dImpl(Size2 output_size);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  Size2 output_size;
};
using AdaptiveAvgPool2d = ModuleHolder<AdaptiveAvgPool2dImpl>;

}  // namespace kiln::nn
