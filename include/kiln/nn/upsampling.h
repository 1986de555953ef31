// nn::ConvTranspose2d, nn::GroupNorm and nn::Upsample: the layers of
// kiln/ops/image.h (decoders, segmentation heads, small-batch CNNs).
#pragma once
#include <optional>
#include <utility>
#include <vector>

#include "kiln/nn/enums.h"
#include "kiln/nn/module.h"
#include "kiln/ops/image.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

// ConvTranspose2dOptions(in, out, kernel).stride(2).padding(1).output_padding(1)
class ConvTranspose2dOptions {
 public:
  ConvTranspose2dOptions(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  ConvTranspose2dOptions& stride(Size2 v) { stride_ = v; return *this; }
  ConvTranspose2dOptions& padding(Size2 v) { padding_ = v; return *this; }
  ConvTranspose2dOptions& output_padding(Size2 v) { output_padding_ = v; return *this; }
  ConvTranspose2dOptions& groups(int64_t v) { groups_ = v; return *this; }
  ConvTranspose2dOptions& bias(bool v) { bias_ = v; return *this; }
  ConvTranspose2dOptions& dilation(Size2 v) { dilation_ = v; return *this; }
  int64_t in_channels() const { return in_channels_; }
  int64_t out_channels() const { return out_channels_; }
  Size2 kernel_size() const { return kernel_size_; }
  Size2 stride() const { return stride_; }
  Size2 padding() const { return padding_; }
  Size2 output_padding() const { return output_padding_; }
  int64_t groups() const { return groups_; }
  bool bias() const { return bias_; }
  Size2 dilation() const { return dilation_; }

 private:
  int64_t in_channels_, out_channels_;
  Size2 kernel_size_, stride_ = 1, padding_ = 0, output_padding_ = 0;
  int64_t groups_ = 1;
  bool bias_ = true;
  Size2 dilation_ = 1;
};

class ConvTranspose2dImpl : public Cloneable<ConvTranspose2dImpl> {
 public:
  explicit ConvTranspose2dImpl(const ConvTranspose2dOptions& options);
  ConvTranspose2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
      : ConvTranspose2dImpl(ConvTranspose2dOptions(in_channels, out_channels, kernel_size)) {}
  Tensor forward(const Tensor& x);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  ConvTranspose2dOptions options;
  Tensor weight;  // [in, out/groups, kh, kw]
  Tensor bias;    // [out] or undefined
};
using ConvTranspose2d = ModuleHolder<ConvTranspose2dImpl>;

// GroupNormOptions(num_groups, num_channels).eps(1e-5).affine(true)
class GroupNormOptions {
 public:
  GroupNormOptions(int64_t num_groups, int64_t num_channels) : num_groups_(num_groups), num_channels_(num_channels) {}
  GroupNormOptions& eps(double v) { eps_ = v; return *this; }
  GroupNormOptions& affine(bool v) { affine_ = v; return *this; }
  int64_t num_groups() const { return num_groups_; }
  int64_t num_channels() const { return num_channels_; }
  double eps() const { return eps_; }
  bool affine() const { return affine_; }

 private:
  int64_t num_groups_, num_channels_;
  double eps_ = 1e-5;
  bool affine_ = true;
};

class GroupNormImpl : public Cloneable<GroupNormImpl> {
 public:
  explicit GroupNormImpl(const GroupNormOptions& options);
  GroupNormImpl(int64_t num_groups, int64_t num_channels) : GroupNormImpl(GroupNormOptions(num_groups, num_channels)) {}
  Tensor forward(const Tensor& x);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  GroupNormOptions options;
  Tensor weight, bias;  // [C] when affine
};
using GroupNorm = ModuleHolder<GroupNormImpl>;

// UpsampleOptions().scale_factor(std::vector<double>{2, 2}).mode(kiln::kBilinear)
// Also nn::functional::InterpolateFuncOptions (one class for both, see
// kiln/nn/functional.h): size or scale_factor (one value or {h, w}), mode
// kNearest or kBilinear, align_corners (bilinear only).
class UpsampleOptions {
 public:
  UpsampleOptions& size(std::optional<std::vector<int64_t>> v) { size_ = std::move(v); return *this; }
  UpsampleOptions& scale_factor(std::optional<std::vector<double>> v) { scale_factor_ = std::move(v); return *this; }
  UpsampleOptions& mode(InterpolateMode v) { mode_ = v; return *this; }
  UpsampleOptions& align_corners(std::optional<bool> v) { align_corners_ = v; return *this; }
  const std::optional<std::vector<int64_t>>& size() const { return size_; }
  const std::optional<std::vector<double>>& scale_factor() const { return scale_factor_; }
  InterpolateMode mode() const { return mode_; }
  std::optional<bool> align_corners() const { return align_corners_; }

 private:
  std::optional<std::vector<int64_t>> size_;
  std::optional<std::vector<double>> scale_factor_;
  InterpolateMode mode_ = InterpolateMode::Nearest;
  std::optional<bool> align_corners_;
};

class UpsampleImpl : public Cloneable<UpsampleImpl> {
 public:
  explicit UpsampleImpl(const UpsampleOptions& options = {}) : Cloneable("Upsample"), options(options) {}
  void reset() override {}
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;
  UpsampleOptions options;
};
using Upsample = ModuleHolder<UpsampleImpl>;

}  // namespace kiln::nn
