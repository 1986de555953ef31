#include "kiln/nn/conv.h"

#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"

namespace kiln::nn {

Conv2dImpl::Conv2dImpl(const Conv2dOptions& o) : Module("Conv2d"), options(o) {
  KILN_CHECK(o.in_channels_ > 0 && o.out_channels_ > 0, ValueError, "Conv2d: channel counts must be positive, got in=",
             o.in_channels_, " out=", o.out_channels_);
  KILN_CHECK(o.groups_ >= 1 && o.in_channels_ % o.groups_ == 0 && o.out_channels_ % o.groups_ == 0, ValueError,
             "Conv2d: in_channels ", o.in_channels_, " and out_channels ", o.out_channels_,
             " must be divisible by groups ", o.groups_);
  KILN_CHECK(o.kernel_size_.h >= 1 && o.kernel_size_.w >= 1, ValueError, "Conv2d: kernel size must be >= 1, got (",
             o.kernel_size_.h, ", ", o.kernel_size_.w, ")");
  weight = register_parameter(
      "weight", empty({o.out_channels_, o.in_channels_ / o.groups_, o.kernel_size_.h, o.kernel_size_.w}));
  if (o.bias_) bias = register_parameter("bias", empty({o.out_channels_}));
  reset_parameters();
}

Conv2dImpl::Conv2dImpl(int64_t in_channels, int64_t out_channels, Size2 kernel_size, Size2 stride, Size2 padding,
                       Size2 dilation, int64_t groups, bool with_bias)
    : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)
                     .stride(stride)
                     .padding(padding)
                     .dilation(dilation)
                     .groups(groups)
                     .bias(with_bias)) {}

void Conv2dImpl::reset_parameters() { init::default_linear_or_conv_init(weight, bias); }

Tensor Conv2dImpl::forward(const Tensor& x) {
  return conv2d(x, weight, bias, options.stride_, options.padding_, options.dilation_, options.groups_);
}

void Conv2dImpl::pretty_print(std::ostream& os) const {
  const Conv2dOptions& o = options;
  os << "Conv2d(" << o.in_channels_ << ", " << o.out_channels_ << ", kernel_size=(" << o.kernel_size_.h << ", "
     << o.kernel_size_.w << "), stride=(" << o.stride_.h << ", " << o.stride_.w << ")";
  if (o.padding_.h || o.padding_.w) os << ", padding=(" << o.padding_.h << ", " << o.padding_.w << ")";
  if (o.dilation_.h != 1 || o.dilation_.w != 1) os << ", dilation=(" << o.dilation_.h << ", " << o.dilation_.w << ")";
  if (o.groups_ != 1) os << ", groups=" << o.groups_;
  if (!o.bias_) os << ", bias=false";
  os << ")";
}

}  // namespace kiln::nn
