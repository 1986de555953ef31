// CudaBackend max/avg pool 2-D forward and backward: hand-written kernels
// (kernels/pool2d.cu). cuDNN's pooling gives no argmax indices, and its
// count_include_pad divisor differs from PyTorch's where a ceil-mode window
// runs past the padding, so both families use kiln's kernels.
#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "cuda/workspace.h"
#include "kernels.h"

namespace kiln::cuda {
namespace {

// Planes of the leading dims (N*C for [N,C,H,W]) and the last two sizes.
struct Planes {
  int64_t count = 1, h = 0, w = 0;
};
Planes planes_of(const Tensor& t, const char* op) {
  KILN_CHECK(t.dim() >= 2, ShapeError, op, ": expected [N, C, H, W], got ", detail::describe(t));
  KILN_CHECK(t.is_contiguous(), ValueError, op, ": expected a contiguous tensor, got ", detail::describe(t));
  Planes p;
  for (int64_t d = 0; d + 2 < t.dim(); ++d) p.count *= t.size(d);
  p.h = t.size(-2);
  p.w = t.size(-1);
  return p;
}

int to_int(int64_t v, const char* op, const char* what) {
  KILN_CHECK(v >= 0 && v < (int64_t{1} << 30), ValueError, op, ": ", what, " ", v, " is out of range");
  return static_cast<int>(v);
}

kernels::Pool2dShape pool_shape(const Tensor& x, const Tensor& out, const detail::Pool2dParams& p, const char* op) {
  const Planes in = planes_of(x, op);
  const Planes o = planes_of(out, op);
  KILN_CHECK(in.count == o.count, ShapeError, op, ": input ", detail::describe(x), " and output ",
             detail::describe(out), " differ in their leading dims");
  KILN_CHECK(p.kernel[0] > 0 && p.kernel[1] > 0 && p.stride[0] > 0 && p.stride[1] > 0, ValueError, op,
             ": kernel and stride must be positive");
  kernels::Pool2dShape s;
  s.planes = in.count;
  s.H = in.h, s.W = in.w, s.Ho = o.h, s.Wo = o.w;
  s.kernel_h = to_int(p.kernel[0], op, "kernel"), s.kernel_w = to_int(p.kernel[1], op, "kernel");
  s.stride_h = to_int(p.stride[0], op, "stride"), s.stride_w = to_int(p.stride[1], op, "stride");
  s.pad_h = to_int(p.padding[0], op, "padding"), s.pad_w = to_int(p.padding[1], op, "padding");
  s.count_include_pad = p.count_include_pad;
  return s;
}

}  // namespace

void CudaBackend::max_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out, Tensor& indices) {
  const char* op = "max_pool2d";
  KILN_CHECK(indices.dtype() == kInt64 && indices.sizes() == out.sizes(), DTypeError, op,
             ": indices must be int64 shaped like the output ", shape_str(out.sizes()), ", got ",
             detail::describe(indices));
  const kernels::Pool2dShape s = pool_shape(x, out, p, op);
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  kernels::launch_max_pool2d_fwd(x.raw_data_ptr(), out.raw_data_ptr(), static_cast<int64_t*>(indices.raw_data_ptr()),
                                 x.dtype(), s, current_stream(dev));
}

void CudaBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) {
  const char* op = "max_pool2d_backward";
  const Planes o = planes_of(gy, op);
  const Planes in = planes_of(gx, op);
  KILN_CHECK(indices.dtype() == kInt64 && indices.sizes() == gy.sizes() && indices.is_contiguous(), DTypeError, op,
             ": indices must be contiguous int64 shaped like grad_output ", shape_str(gy.sizes()), ", got ",
             detail::describe(indices));
  KILN_CHECK(o.count == in.count, ShapeError, op, ": grad_output ", detail::describe(gy), " and grad_input ",
             detail::describe(gx), " differ in their leading dims");
  const int dev = gx.device().index();
  DeviceGuard guard(dev);
  const Workspace ws(dev, kernels::max_pool2d_bwd_workspace_bytes(gx.dtype(), in.count, in.h * in.w));
  kernels::launch_max_pool2d_bwd(gy.raw_data_ptr(), static_cast<const int64_t*>(indices.raw_data_ptr()),
                                 gx.raw_data_ptr(), gx.dtype(), in.count, o.h * o.w, in.h * in.w, ws.data(),
                                 current_stream(dev));
}

void CudaBackend::avg_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out) {
  const kernels::Pool2dShape s = pool_shape(x, out, p, "avg_pool2d");
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  kernels::launch_avg_pool2d_fwd(x.raw_data_ptr(), out.raw_data_ptr(), x.dtype(), s, current_stream(dev));
}

void CudaBackend::avg_pool2d_backward(const Tensor& gy, const detail::Pool2dParams& p, Tensor& gx) {
  const kernels::Pool2dShape s = pool_shape(gx, gy, p, "avg_pool2d_backward");
  const int dev = gx.device().index();
  DeviceGuard guard(dev);
  kernels::launch_avg_pool2d_bwd(gy.raw_data_ptr(), gx.raw_data_ptr(), gx.dtype(), s, current_stream(dev));
}

}  // namespace kiln::cuda
