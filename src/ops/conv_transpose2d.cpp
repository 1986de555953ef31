// conv_transpose2d: the input gradient of conv2d as an op of its own, on the
// backend's conv2d_backward (cuDNN's backward-data on CUDA) and, for its
// gradients, conv2d_forward and conv2d_backward's weight gradient.
#include "autograd/derivatives/conv_transpose2d.h"
#include "kiln/ops/math.h"
#include "kiln/ops/image.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
                        Size2 output_padding, int64_t groups, Size2 dilation) {
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&input, &weight, &bias}))
    return conv_transpose2d(c[0], c[1], c[2], stride, padding, output_padding, groups, dilation);
  const char* op = "conv_transpose2d";
  detail::check_defined(op, input);
  detail::check_defined(op, weight, "weight");
  detail::check_same_device(op, {&input, &weight, &bias});
  KILN_CHECK(input.dim() == 3 || input.dim() == 4, ShapeError, op, ": input must be [N,C,H,W] or [C,H,W], got ",
             detail::describe(input));
  if (input.dim() == 3) {
    return conv_transpose2d(input.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
        .squeeze(0);
  }
  detail::check_floating(op, input);
  KILN_CHECK(weight.dim() == 4, ShapeError, op, ": weight must be [C_in, C_out/groups, kh, kw], got ",
             detail::describe(weight));
  KILN_CHECK(weight.dtype() == input.dtype(), DTypeError, op, ": weight ", detail::describe(weight),
             " must have the input's dtype (input ", detail::describe(input), ")");
  KILN_CHECK(groups >= 1, ValueError, op, ": groups must be >= 1, got ", groups);
  KILN_CHECK(stride.h >= 1 && stride.w >= 1 && dilation.h >= 1 && dilation.w >= 1, ValueError, op,
             ": stride and dilation must be >= 1, got stride (", stride.h, ", ", stride.w, ") dilation (",
             dilation.h, ", ", dilation.w, ")");
  KILN_CHECK(padding.h >= 0 && padding.w >= 0, ValueError, op, ": padding must be >= 0, got (", padding.h, ", ",
             padding.w, ")");
  KILN_CHECK(output_padding.h >= 0 && output_padding.w >= 0 &&
                 (output_padding.h < stride.h || output_padding.h < dilation.h) &&
                 (output_padding.w < stride.w || output_padding.w < dilation.w),
             ValueError, op, ": output_padding (", output_padding.h, ", ", output_padding.w,
             ") must be smaller than stride or dilation");
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  KILN_CHECK(weight.size(0) == C, ShapeError, op, ": weight ", detail::describe(weight), " expects ", weight.size(0),
             " input channels, input ", detail::describe(input), " has ", C);
  KILN_CHECK(C % groups == 0, ShapeError, op, ": input channels ", C, " must be divisible by groups ", groups);
  const int64_t O = weight.size(1) * groups, kh = weight.size(2), kw = weight.size(3);
  if (bias.defined()) {
    KILN_CHECK(bias.dim() == 1 && bias.size(0) == O, ShapeError, op, ": bias ", detail::describe(bias), " must be [",
               O, "]");
    KILN_CHECK(bias.dtype() == input.dtype(), DTypeError, op, ": bias ", detail::describe(bias),
               " must have the input's dtype ", input.dtype());
  }
  const int64_t Ho = (H - 1) * stride.h - 2 * padding.h + dilation.h * (kh - 1) + output_padding.h + 1;
  const int64_t Wo = (W - 1) * stride.w - 2 * padding.w + dilation.w * (kw - 1) + output_padding.w + 1;
  KILN_CHECK(Ho >= 1 && Wo >= 1, ShapeError, op, ": input ", detail::describe(input), " with padding (", padding.h,
             ", ", padding.w, ") gives an empty output (", Ho, ", ", Wo, ")");

  detail::Conv2dParams p;
  p.stride = {stride.h, stride.w};
  p.padding = {padding.h, padding.w};
  p.dilation = {dilation.h, dilation.w};
  p.groups = groups;
  Tensor x = input.detach().contiguous(), w = weight.detach().contiguous();
  Tensor out = detail::make_empty({N, O, Ho, Wo}, input.dtype(), input.device());
  if (out.numel() > 0 && x.numel() > 0) {
    // conv2d_backward reads x (here: `out`) only for the weight gradient, which is not asked for.
    Tensor none_w, none_b;
    detail::backend_of(x).conv2d_backward(x, out, w, p, out, none_w, none_b);
  } else if (out.numel() > 0) {
    out.zero_();
  }
  if (autograd::needs_grad({&input, &weight})) {
    auto node = std::make_shared<autograd::ConvTranspose2dBackward>();
    node->input = autograd::SavedTensor(x);
    node->weight = autograd::SavedTensor(w);
    node->params = p;
    autograd::set_history(out, node, {&input, &weight});
  }
  if (bias.defined()) return out + bias.reshape({1, O, 1, 1});
  return out;
}

}  // namespace kiln
