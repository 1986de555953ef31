#include "kiln/nn/pooling.h"

namespace kiln::nn {

namespace {
std::ostream& operator<<(std::ostream& os, Size2 s) { return os << "(" << s.h << ", " << s.w << ")"; }
}  // namespace

MaxPool2dImpl::MaxPool2dImpl(const MaxPool2dOptions& o) : Cloneable("MaxPool2d"), options(o) {}
MaxPool2dImpl::MaxPool2dImpl(Size2 k, std::optional<Size2> s, Size2 p, bool ceil)
    : MaxPool2dImpl(MaxPool2dOptions(k).stride(s.value_or(k)).padding(p).ceil_mode(ceil)) {}

Tensor MaxPool2dImpl::forward(const Tensor& x) {
  return max_pool2d(x, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode());
}

void MaxPool2dImpl::pretty_print(std::ostream& os) const {
  os << "MaxPool2d(kernel_size=" << options.kernel_size() << ", stride=" << options.stride()
     << ", padding=" << options.padding() << ", ceil_mode=" << (options.ceil_mode() ? "true" : "false") << ")";
}

AvgPool2dImpl::AvgPool2dImpl(const AvgPool2dOptions& o) : Cloneable("AvgPool2d"), options(o) {}
AvgPool2dImpl::AvgPool2dImpl(Size2 k, std::optional<Size2> s, Size2 p, bool ceil, bool include_pad)
    : AvgPool2dImpl(AvgPool2dOptions(k).stride(s.value_or(k)).padding(p).ceil_mode(ceil).count_include_pad(include_pad)) {}

Tensor AvgPool2dImpl::forward(const Tensor& x) {
  return avg_pool2d(x, options.kernel_size(), options.stride(), options.padding(), options.ceil_mode(),
                    options.count_include_pad());
}

void AvgPool2dImpl::pretty_print(std::ostream& os) const {
  os << "AvgPool2d(kernel_size=" << options.kernel_size() << ", stride=" << options.stride()
     << ", padding=" << options.padding() << ")";
}

AdaptiveAvgPool2dImpl::AdaptiveAvgPool2dImpl(const AdaptiveAvgPool2dOptions& o)
    : Cloneable("AdaptiveAvgPool2d"), options(o) {}

Tensor AdaptiveAvgPool2dImpl::forward(const Tensor& x) { return adaptive_avg_pool2d(x, options.output_size()); }

void AdaptiveAvgPool2dImpl::pretty_print(std::ostream& os) const {
  os << "AdaptiveAvgPool2d(output_size=" << options.output_size() << ")";
}

}  // namespace kiln::nn
