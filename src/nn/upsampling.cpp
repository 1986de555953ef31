#include "kiln/nn/upsampling.h"

#include "kiln/nn/functional.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"

namespace kiln::nn {

ConvTranspose2dImpl::ConvTranspose2dImpl(const ConvTranspose2dOptions& o) : Cloneable("ConvTranspose2d"), options(o) {
  reset();
}

void ConvTranspose2dImpl::reset() {
  const ConvTranspose2dOptions& o = options;
  KILN_CHECK(o.in_channels() > 0 && o.out_channels() > 0, ValueError,
             "ConvTranspose2d: channel counts must be positive, got in=", o.in_channels(), " out=", o.out_channels());
  KILN_CHECK(o.groups() >= 1 && o.in_channels() % o.groups() == 0 && o.out_channels() % o.groups() == 0, ValueError,
             "ConvTranspose2d: in_channels ", o.in_channels(), " and out_channels ", o.out_channels(),
             " must be divisible by groups ", o.groups());
  weight = register_parameter(
      "weight", empty({o.in_channels(), o.out_channels() / o.groups(), o.kernel_size().h, o.kernel_size().w}));
  bias = o.bias() ? register_parameter("bias", empty({o.out_channels()})) : Tensor();
  reset_parameters();
}

// PyTorch's: the same kaiming_uniform_(a=sqrt(5)) as Conv2d on the [in, out/groups, kh, kw] weight.
void ConvTranspose2dImpl::reset_parameters() { init::default_linear_or_conv_init(weight, bias); }

Tensor ConvTranspose2dImpl::forward(const Tensor& x) {
  const ConvTranspose2dOptions& o = options;
  return conv_transpose2d(x, weight, bias, o.stride(), o.padding(), o.output_padding(), o.groups(), o.dilation());
}

void ConvTranspose2dImpl::pretty_print(std::ostream& os) const {
  const ConvTranspose2dOptions& o = options;
  os << "ConvTranspose2d(" << o.in_channels() << ", " << o.out_channels() << ", kernel_size=(" << o.kernel_size().h
     << ", " << o.kernel_size().w << "), stride=(" << o.stride().h << ", " << o.stride().w << ")";
  if (o.padding().h || o.padding().w) os << ", padding=(" << o.padding().h << ", " << o.padding().w << ")";
  if (o.output_padding().h || o.output_padding().w)
    os << ", output_padding=(" << o.output_padding().h << ", " << o.output_padding().w << ")";
  if (!o.bias()) os << ", bias=false";
  os << ")";
}

GroupNormImpl::GroupNormImpl(const GroupNormOptions& o) : Cloneable("GroupNorm"), options(o) { reset(); }

void GroupNormImpl::reset() {
  const int64_t C = options.num_channels(), G = options.num_groups();
  KILN_CHECK(G >= 1 && C >= 1 && C % G == 0, ValueError, "GroupNorm: num_groups ", G,
             " must divide num_channels ", C);
  weight = options.affine() ? register_parameter("weight", ones({C})) : Tensor();
  bias = options.affine() ? register_parameter("bias", zeros({C})) : Tensor();
}

void GroupNormImpl::reset_parameters() {
  if (!options.affine()) return;
  init::ones_(weight);
  init::zeros_(bias);
}

Tensor GroupNormImpl::forward(const Tensor& x) {
  return group_norm(x, options.num_groups(), weight, bias, options.eps());
}

void GroupNormImpl::pretty_print(std::ostream& os) const {
  os << "GroupNorm(" << options.num_groups() << ", " << options.num_channels() << ", eps=" << options.eps()
     << ", affine=" << (options.affine() ? "true" : "false") << ")";
}

Tensor UpsampleImpl::forward(const Tensor& x) {
  return functional::interpolate(x, options);  // InterpolateFuncOptions is UpsampleOptions
}

void UpsampleImpl::pretty_print(std::ostream& os) const {
  os << "Upsample(mode=" << (options.mode() == InterpolateMode::Bilinear ? "bilinear" : "nearest") << ")";
}

}  // namespace kiln::nn
