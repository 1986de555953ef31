#include "kiln/nn/pooling.h"

namespace kiln::nn {

namespace {
std::ostream& operator<<(std::ostream& os, Size2 s) { return os << "(" << s.h << ", " << s.w << ")"; }
}  // namespace

MaxPool2dImpl::MaxPool2dImpl(Size2 k, std::optional<Size2> s, Size2 p, bool ceil)
    : Module("MaxPool2d"), kernel_size(k), stride(s.value_or(k)), padding(p), ceil_mode(ceil) {}

Tensor MaxPool2dImpl::forward(const Tensor& x) { return max_pool2d(x, kernel_size, stride, padding, ceil_mode); }

void MaxPool2dImpl::pretty_print(std::ostream& os) const {
  os << "MaxPool2d(kernel_size=" << kernel_size << ", stride=" << stride << ", padding=" << padding
     << ", ceil_mode=" << (ceil_mode ? "true" : "false") << ")";
}

AvgPool2dImpl::AvgPool2dImpl(Size2 k, std::optional<Size2> s, Size2 p, bool ceil, bool include_pad)
    : Module("AvgPool2d"),
      kernel_size(k),
      stride(s.value_or(k)),
      padding(p),
      ceil_mode(ceil),
      count_include_pad(include_pad) {}

Tensor AvgPool2dImpl::forward(const Tensor& x) {
  return avg_pool2d(x, kernel_size, stride, padding, ceil_mode, count_include_pad);
}

void AvgPool2dImpl::pretty_print(std::ostream& os) const {
  os << "AvgPool2d(kernel_size=" << kernel_size << ", stride=" << stride << ", padding=" << padding << ")";
}

AdaptiveAvgPool2dImpl::AdaptiveAvgPool2dImpl(Size2 out) : Module("AdaptiveAvgPool2d"), output_size(out) {}

Tensor AdaptiveAvgPool2dImpl::forward(const Tensor& x) { return adaptive_avg_pool2d(x, output_size); }

void AdaptiveAvgPool2dImpl::pretty_print(std::ostream& os) const {
  os << "AdaptiveAvgPool2d(output_size=" << output_size << ")";
}

}  // namespace kiln::nn
