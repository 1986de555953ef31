// Pooling layers: MaxPool2d, AvgPool2d, AdaptiveAvgPool2d (no parameters).
#pragma once
#include <optional>

#include "kiln/nn/module.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

// MaxPool2dOptions(3).stride(2).padding(1); stride defaults to the kernel size.
class MaxPool2dOptions {
 public:
  MaxPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT: as LibTorch
  MaxPool2dOptions& kernel_size(Size2 v) { kernel_size_ = v; return *this; }
  MaxPool2dOptions& stride(Size2 v) { stride_ = v; return *this; }
  MaxPool2dOptions& padding(Size2 v) { padding_ = v; return *this; }
  MaxPool2dOptions& ceil_mode(bool v) { ceil_mode_ = v; return *this; }
  Size2 kernel_size() const { return kernel_size_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  bool ceil_mode() const { return ceil_mode_; }

 private:
  Size2 kernel_size_, stride_, padding_ = 0;
  bool ceil_mode_ = false;
};

// AvgPool2dOptions(2).stride(2).count_include_pad(false); stride defaults to the kernel size.
class AvgPool2dOptions {
 public:
  AvgPool2dOptions(Size2 kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}  // NOLINT: as LibTorch
  AvgPool2dOptions& kernel_size(Size2 v) { kernel_size_ = v; return *this; }
  AvgPool2dOptions& stride(Size2 v) { stride_ = v; return *this; }
  AvgPool2dOptions& padding(Size2 v) { padding_ = v; return *this; }
  AvgPool2dOptions& ceil_mode(bool v) { ceil_mode_ = v; return *this; }
  AvgPool2dOptions& count_include_pad(bool v) { count_include_pad_ = v; return *this; }
  Size2 kernel_size() const { return kernel_size_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  bool ceil_mode() const { return ceil_mode_; }
  bool count_include_pad() const { return count_include_pad_; }

 private:
  Size2 kernel_size_, stride_, padding_ = 0;
  bool ceil_mode_ = false, count_include_pad_ = true;
};

class AdaptiveAvgPool2dOptions {
 public:
  AdaptiveAvgPool2dOptions(Size2 output_size) : output_size_(output_size) {}  // NOLINT: as LibTorch
  AdaptiveAvgPool2dOptions& output_size(Size2 v) { output_size_ = v; return *this; }
  Size2 output_size() const { return output_size_; }

 private:
  Size2 output_size_;
};

// The positional constructors take a Size2 kernel, so MaxPool2d(2) works
// (an int would need two conversions to reach the options).
class MaxPool2dImpl : public Cloneable<MaxPool2dImpl> {
 public:
  void reset() override {}
  explicit MaxPool2dImpl(const MaxPool2dOptions& options);
  MaxPool2dImpl(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                         bool ceil_mode = false);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  MaxPool2dOptions options;
};
using MaxPool2d = ModuleHolder<MaxPool2dImpl>;

class AvgPool2dImpl : public Cloneable<AvgPool2dImpl> {
 public:
  void reset() override {}
  explicit AvgPool2dImpl(const AvgPool2dOptions& options);
  AvgPool2dImpl(Size2 kernel_size, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                         bool ceil_mode = false, bool count_include_pad = true);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  AvgPool2dOptions options;
};
using AvgPool2d = ModuleHolder<AvgPool2dImpl>;

class AdaptiveAvgPool2dImpl : public Cloneable<AdaptiveAvgPool2dImpl> {
 public:
  void reset() override {}
  explicit AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& options);
  explicit AdaptiveAvgPool2dImpl(Size2 output_size) : AdaptiveAvgPool2dImpl(AdaptiveAvgPool2dOptions(output_size)) {}
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  AdaptiveAvgPool2dOptions options;
};
using AdaptiveAvgPool2d = ModuleHolder<AdaptiveAvgPool2dImpl>;

}  // namespace kiln::nn
