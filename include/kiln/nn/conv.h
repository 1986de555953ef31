// nn::Conv2d over NCHW images and nn::Conv1d over NCL sequences (a Conv2d
// of height 1, so both devices run the same convolution kernels).
#pragma once
#include "kiln/nn/module.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

// Conv2dOptions(in, out, kernel).stride(2).padding(1).bias(false)
class Conv2dOptions {
 public:
  Conv2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  Conv2dOptions& in_channels(int64_t v) { in_channels_ = v; return *this; }
  Conv2dOptions& out_channels(int64_t v) { out_channels_ = v; return *this; }
  Conv2dOptions& kernel_size(Size2 v) { kernel_size_ = v; return *this; }
  Conv2dOptions& stride(Size2 v) { stride_ = v; return *this; }
  Conv2dOptions& padding(Size2 v) { padding_ = v; return *this; }
  Conv2dOptions& dilation(Size2 v) { dilation_ = v; return *this; }
  Conv2dOptions& groups(int64_t v) { groups_ = v; return *this; }
  Conv2dOptions& bias(bool v) { bias_ = v; return *this; }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  Size2 kernel_size() const { return kernel_size_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  Size2 dilation() const { return dilation_; }
  int64_t groups() const { return groups_; }
  bool bias() const { return bias_; }

 private:
  int64_t in_channels_, out_channels_;
  Size2 kernel_size_;
  Size2 stride_ = 1, padding_ = 0, dilation_ = 1;
  int64_t groups_ = 1;
  bool bias_ = true;
};

class Conv2dImpl : public Cloneable<Conv2dImpl> {
 public:
  explicit Conv2dImpl(const Conv2dOptions& options);
  Conv2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride = 1, Size2 padding = 0,
             Size2 dilation = 1, int64_t groups = 1, bool bias = true);
  Tensor forward(const Tensor& x);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  Conv2dOptions options;
  Tensor weight;  // [out, in/groups, kh, kw]
  Tensor bias;    // [out] or undefined
};
using Conv2d = ModuleHolder<Conv2dImpl>;

// Conv1dOptions(in, out, kernel).stride(2).padding(1).bias(false)
class Conv1dOptions {
 public:
  Conv1dOptions(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  Conv1dOptions& in_channels(int64_t v) { in_channels_ = v; return *this; }
  Conv1dOptions& out_channels(int64_t v) { out_channels_ = v; return *this; }
  Conv1dOptions& kernel_size(int64_t v) { kernel_size_ = v; return *this; }
  Conv1dOptions& stride(int64_t v) { stride_ = v; return *this; }
  Conv1dOptions& padding(int64_t v) { padding_ = v; return *this; }
  Conv1dOptions& dilation(int64_t v) { dilation_ = v; return *this; }
  Conv1dOptions& groups(int64_t v) { groups_ = v; return *this; }
  Conv1dOptions& bias(bool v) { bias_ = v; return *this; }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  int64_t kernel_size() const { return kernel_size_; }
  int64_t stride() const { return stride_; }
  int64_t padding() const { return padding_; }
  int64_t dilation() const { return dilation_; }
  int64_t groups() const { return groups_; }
  bool bias() const { return bias_; }

 private:
  int64_t in_channels_, out_channels_, kernel_size_;
  int64_t stride_ = 1, padding_ = 0, dilation_ = 1, groups_ = 1;
  bool bias_ = true;
};

class Conv1dImpl : public Cloneable<Conv1dImpl> {
 public:
  explicit Conv1dImpl(const Conv1dOptions& options);
  Conv1dImpl(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
      : Conv1dImpl(Conv1dOptions(in_channels, out_channels, kernel_size)) {}
  // x [N, C, L] or [C, L].
  Tensor forward(const Tensor& x);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  Conv1dOptions options;
  Tensor weight;  // [out, in/groups, k]
  Tensor bias;    // [out] or undefined
};
using Conv1d = ModuleHolder<Conv1dImpl>;

}  // namespace kiln::nn
