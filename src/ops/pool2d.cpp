// max_pool2d, avg_pool2d, adaptive_avg_pool2d.
#include <algorithm>

#include "autograd/derivatives/pool2d.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/linalg.h"
#include "kiln/ops/nn.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

// PyTorch's pooling output size: floor or ceil of the window count, and in
// ceil mode the last window must start inside the input or its left padding.
int64_t pool_out_size(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t span = in + 2 * p - k;
  if (span < 0) return 0;  // the kernel does not fit: the caller reports it
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;
  return out;
}

// Checks shared by both pools; returns the params and output shape for a 4-D x.
detail::Pool2dParams check_pool(const char* op, const Tensor& x, Size2 kernel, std::optional<Size2> stride,
                                Size2 padding, bool ceil_mode, Shape& out_shape) {
  detail::check_floating(op, x);
  const Size2 s = stride.value_or(kernel);
  KILN_CHECK(kernel.h >= 1 && kernel.w >= 1, ValueError, op, ": kernel must be >= 1, got (", kernel.h, ", ",
             kernel.w, ")");
  KILN_CHECK(s.h >= 1 && s.w >= 1, ValueError, op, ": stride must be >= 1, got (", s.h, ", ", s.w, ")");
  KILN_CHECK(padding.h >= 0 && padding.w >= 0 && padding.h * 2 <= kernel.h && padding.w * 2 <= kernel.w,
             ValueError, op, ": padding (", padding.h, ", ", padding.w, ") must be >= 0 and at most half the kernel (",
             kernel.h, ", ", kernel.w, ")");
  const int64_t H = x.size(2), W = x.size(3);
  const int64_t Ho = pool_out_size(H, kernel.h, s.h, padding.h, ceil_mode);
  const int64_t Wo = pool_out_size(W, kernel.w, s.w, padding.w, ceil_mode);
  KILN_CHECK(Ho >= 1 && Wo >= 1, ShapeError, op, ": input ", detail::describe(x), " padded by (", padding.h, ", ",
             padding.w, ") is smaller than the kernel (", kernel.h, ", ", kernel.w, ")");
  out_shape = {x.size(0), x.size(1), Ho, Wo};
  detail::Pool2dParams p;
  p.kernel = {kernel.h, kernel.w};
  p.stride = {s.h, s.w};
  p.padding = {padding.h, padding.w};
  p.ceil_mode = ceil_mode;
  return p;
}

void check_image(const char* op, const Tensor& x) {
  detail::check_defined(op, x);
  KILN_CHECK(x.dim() == 3 || x.dim() == 4, ShapeError, op, ": input must be [N,C,H,W] or [C,H,W], got ",
             detail::describe(x));
}

}  // namespace

Tensor max_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride, Size2 padding, bool ceil_mode) {
  check_image("max_pool2d", input);
  if (input.dim() == 3) return max_pool2d(input.unsqueeze(0), kernel, stride, padding, ceil_mode).squeeze(0);
  Shape out_shape;
  detail::Pool2dParams p = check_pool("max_pool2d", input, kernel, stride, padding, ceil_mode, out_shape);
  Tensor x = input.detach().contiguous();
  Tensor out = detail::make_empty(out_shape, x.dtype(), x.device());
  Tensor indices = detail::make_empty(out_shape, kInt64, x.device());
  if (out.numel() > 0) detail::backend_of(x).max_pool2d_forward(x, p, out, indices);
  if (autograd::needs_grad({&input})) {
    auto node = std::make_shared<autograd::MaxPool2dBackward>();
    node->indices = autograd::SavedTensor(indices);
    node->input_sizes = x.sizes();
    autograd::set_history(out, node, {&input});
  }
  return out;
}

Tensor avg_pool2d(const Tensor& input, Size2 kernel, std::optional<Size2> stride, Size2 padding, bool ceil_mode,
                  bool count_include_pad) {
  check_image("avg_pool2d", input);
  if (input.dim() == 3) {
    return avg_pool2d(input.unsqueeze(0), kernel, stride, padding, ceil_mode, count_include_pad).squeeze(0);
  }
  Shape out_shape;
  detail::Pool2dParams p = check_pool("avg_pool2d", input, kernel, stride, padding, ceil_mode, out_shape);
  p.count_include_pad = count_include_pad;
  Tensor x = input.detach().contiguous();
  Tensor out = detail::make_empty(out_shape, x.dtype(), x.device());
  if (out.numel() > 0) detail::backend_of(x).avg_pool2d_forward(x, p, out);
  if (autograd::needs_grad({&input})) {
    auto node = std::make_shared<autograd::AvgPool2dBackward>();
    node->params = p;
    node->input_sizes = x.sizes();
    autograd::set_history(out, node, {&input});
  }
  return out;
}

namespace {
// [out, in] matrix whose row i averages in-range [floor(i*in/out), ceil((i+1)*in/out)).
Tensor adaptive_matrix(int64_t in, int64_t out, const Tensor& like) {
  std::vector<double> m(static_cast<size_t>(in * out), 0.0);
  for (int64_t i = 0; i < out; ++i) {
    const int64_t start = (i * in) / out, end = ((i + 1) * in + out - 1) / out;
    for (int64_t j = start; j < end; ++j) m[static_cast<size_t>(i * in + j)] = 1.0 / static_cast<double>(end - start);
  }
  return tensor(m, {out, in}).to(like.dtype()).to(like.device());
}
}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& input, Size2 output_size) {
  check_image("adaptive_avg_pool2d", input);
  detail::check_floating("adaptive_avg_pool2d", input);
  KILN_CHECK(output_size.h >= 1 && output_size.w >= 1, ValueError, "adaptive_avg_pool2d: output size must be >= 1, ",
             "got (", output_size.h, ", ", output_size.w, ")");
  const int64_t H = input.size(-2), W = input.size(-1);
  KILN_CHECK(H >= 1 && W >= 1, ShapeError, "adaptive_avg_pool2d: input ", detail::describe(input),
             " has an empty plane");
  // Evenly dividing sizes are an ordinary average pool.
  if (H % output_size.h == 0 && W % output_size.w == 0) {
    Size2 k(H / output_size.h, W / output_size.w);
    return avg_pool2d(input, k, k);
  }
  // Otherwise rows and columns are averaged by two small matrix products,
  // which also gives the gradient through matmul's.
  // Those products are how the pool is computed, not matmuls of the model's:
  // under autocast they keep the input's dtype, as the other pools do.
  detail::AutocastSuspend keep_dtype;
  Tensor ph = adaptive_matrix(H, output_size.h, input);
  Tensor pw = adaptive_matrix(W, output_size.w, input);
  return matmul(matmul(ph, input), pw.t());
}

}  // namespace kiln
