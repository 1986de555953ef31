// conv2d: argument checks, output shape, backend call, autograd record.
#include "autograd/derivatives/conv2d.h"
#include "kiln/ops/nn.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {
int64_t conv_out_size(int64_t in, int64_t k, int64_t s, int64_t p, int64_t d) {
  return (in + 2 * p - d * (k - 1) - 1) / s + 1;
}
}  // namespace

Tensor conv2d(const Tensor& input, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
              Size2 dilation, int64_t groups) {
  if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&input, &weight, &bias}))
    return conv2d(c[0], c[1], c[2], stride, padding, dilation, groups);
  const char* op = "conv2d";
  detail::check_defined(op, input);
  detail::check_defined(op, weight, "weight");
  detail::check_same_device(op, {&input, &weight, &bias});
  KILN_CHECK(input.dim() == 3 || input.dim() == 4, ShapeError,
             "conv2d: input must be [N,C,H,W] or [C,H,W], got ", detail::describe(input));
  if (input.dim() == 3) {
    return conv2d(input.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
  }
  detail::check_floating(op, input);
  KILN_CHECK(weight.dim() == 4, ShapeError, "conv2d: weight must be [O, C/groups, kh, kw], got ",
             detail::describe(weight));
  KILN_CHECK(weight.dtype() == input.dtype(), DTypeError, "conv2d: weight ", detail::describe(weight),
             " must have the input's dtype (input ", detail::describe(input), ")");
  KILN_CHECK(groups >= 1, ValueError, "conv2d: groups must be >= 1, got ", groups);
  KILN_CHECK(stride.h >= 1 && stride.w >= 1, ValueError, "conv2d: stride must be >= 1, got (", stride.h, ", ",
             stride.w, ")");
  KILN_CHECK(padding.h >= 0 && padding.w >= 0, ValueError, "conv2d: padding must be >= 0, got (", padding.h, ", ",
             padding.w, ")");
  KILN_CHECK(dilation.h >= 1 && dilation.w >= 1, ValueError, "conv2d: dilation must be >= 1, got (", dilation.h,
             ", ", dilation.w, ")");
  const int64_t N = input.size(0), C = input.size(1), H = input.size(2), W = input.size(3);
  const int64_t O = weight.size(0), kh = weight.size(2), kw = weight.size(3);
  KILN_CHECK(C % groups == 0 && O % groups == 0, ShapeError, "conv2d: input channels ", C, " and output channels ",
             O, " must both be divisible by groups ", groups, " (input ", detail::describe(input), ", weight ",
             detail::describe(weight), ")");
  KILN_CHECK(weight.size(1) * groups == C, ShapeError, "conv2d: weight ", detail::describe(weight), " expects ",
             weight.size(1) * groups, " input channels (", weight.size(1), " x groups ", groups, "), input ",
             detail::describe(input), " has ", C);
  if (bias.defined()) {
    KILN_CHECK(bias.dim() == 1 && bias.size(0) == O, ShapeError, "conv2d: bias ", detail::describe(bias),
               " must be [", O, "]");
    KILN_CHECK(bias.dtype() == input.dtype(), DTypeError, "conv2d: bias ", detail::describe(bias),
               " must have the input's dtype ", input.dtype());
  }
  const int64_t Ho = conv_out_size(H, kh, stride.h, padding.h, dilation.h);
  const int64_t Wo = conv_out_size(W, kw, stride.w, padding.w, dilation.w);
  KILN_CHECK(Ho >= 1 && Wo >= 1, ShapeError, "conv2d: input ", detail::describe(input), " padded by (", padding.h,
             ", ", padding.w, ") is smaller than the dilated kernel (", dilation.h * (kh - 1) + 1, ", ",
             dilation.w * (kw - 1) + 1, ")");

  detail::Conv2dParams p;
  p.stride = {stride.h, stride.w};
  p.padding = {padding.h, padding.w};
  p.dilation = {dilation.h, dilation.w};
  p.groups = groups;
  Tensor x = input.detach().contiguous(), w = weight.detach().contiguous();
  Tensor b = bias.defined() ? bias.detach().contiguous() : Tensor();
  Tensor out = detail::make_empty({N, O, Ho, Wo}, input.dtype(), input.device());
  if (out.numel() > 0) detail::backend_of(x).conv2d_forward(x, w, b, p, out);

  if (autograd::needs_grad({&input, &weight, &bias})) {
    auto node = std::make_shared<autograd::Conv2dBackward>();
    node->input = autograd::SavedTensor(x);
    node->weight = autograd::SavedTensor(w);
    node->params = p;
    node->has_bias = bias.defined();
    if (bias.defined()) autograd::set_history(out, node, {&input, &weight, &bias});
    else autograd::set_history(out, node, {&input, &weight});
  }
  return out;
}

}  // namespace kiln
