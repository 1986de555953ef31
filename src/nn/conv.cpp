#include "kiln/nn/conv.h"

#include "kiln/nn/functional.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"

namespace kiln::nn {

namespace {
void check_conv_options(const char* layer, int64_t in, int64_t out, int64_t groups) {
  KILN_CHECK(in > 0 && out > 0, ValueError, layer, ": channel counts must be positive, got in=", in, " out=", out);
  KILN_CHECK(groups >= 1 && in % groups == 0 && out % groups == 0, ValueError, layer, ": in_channels ", in,
             " and out_channels ", out, " must be divisible by groups ", groups);
}
}  // namespace

Conv2dImpl::Conv2dImpl(const Conv2dOptions& o) : Cloneable("Conv2d"), options(o) { reset(); }

void Conv2dImpl::reset() {
  const Conv2dOptions& o = options;
  check_conv_options("Conv2d", o.in_channels(), o.out_channels(), o.groups());
  KILN_CHECK(o.kernel_size().h >= 1 && o.kernel_size().w >= 1, ValueError, "Conv2d: kernel size must be >= 1, got (",
             o.kernel_size().h, ", ", o.kernel_size().w, ")");
  weight = register_parameter(
      "weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size().h, o.kernel_size().w}));
  bias = o.bias() ? register_parameter("bias", empty({o.out_channels()})) : Tensor();
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
  return conv2d(x, weight, bias, options.stride(), options.padding(), options.dilation(), options.groups());
}

void Conv2dImpl::pretty_print(std::ostream& os) const {
  const Conv2dOptions& o = options;
  os << "Conv2d(" << o.in_channels() << ", " << o.out_channels() << ", kernel_size=(" << o.kernel_size().h << ", "
     << o.kernel_size().w << "), stride=(" << o.stride().h << ", " << o.stride().w << ")";
  if (o.padding().h || o.padding().w) os << ", padding=(" << o.padding().h << ", " << o.padding().w << ")";
  if (o.dilation().h != 1 || o.dilation().w != 1)
    os << ", dilation=(" << o.dilation().h << ", " << o.dilation().w << ")";
  if (o.groups() != 1) os << ", groups=" << o.groups();
  if (!o.bias()) os << ", bias=false";
  os << ")";
}

Conv1dImpl::Conv1dImpl(const Conv1dOptions& o) : Cloneable("Conv1d"), options(o) { reset(); }

void Conv1dImpl::reset() {
  const Conv1dOptions& o = options;
  check_conv_options("Conv1d", o.in_channels(), o.out_channels(), o.groups());
  KILN_CHECK(o.kernel_size() >= 1, ValueError, "Conv1d: kernel size must be >= 1, got ", o.kernel_size());
  weight = register_parameter("weight", empty({o.out_channels(), o.in_channels() / o.groups(), o.kernel_size()}));
  bias = o.bias() ? register_parameter("bias", empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

void Conv1dImpl::reset_parameters() { init::default_linear_or_conv_init(weight, bias); }

Tensor Conv1dImpl::forward(const Tensor& x) {
  const Conv1dOptions& o = options;
  return functional::conv1d(
      x, weight,
      functional::Conv1dFuncOptions().bias(bias).stride(o.stride()).padding(o.padding()).dilation(o.dilation()).groups(
          o.groups()));
}

void Conv1dImpl::pretty_print(std::ostream& os) const {
  const Conv1dOptions& o = options;
  os << "Conv1d(" << o.in_channels() << ", " << o.out_channels() << ", kernel_size=" << o.kernel_size()
     << ", stride=" << o.stride();
  if (o.padding()) os << ", padding=" << o.padding();
  if (o.dilation() != 1) os << ", dilation=" << o.dilation();
  if (o.groups() != 1) os << ", groups=" << o.groups();
  if (!o.bias()) os << ", bias=false";
  os << ")";
}

}  // namespace kiln::nn
