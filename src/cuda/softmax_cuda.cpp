// CudaBackend::softmax_forward / softmax_backward: kernels/softmax.cu over
// the [outer, n, inner] view of contiguous tensors, as the op computed it.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::softmax_forward(const Tensor& x, const detail::RowGeometry& v, bool log, Tensor& out) {
  KILN_INTERNAL_ASSERT(x.is_contiguous() && out.is_contiguous(), "softmax_forward expects contiguous tensors");
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  kernels::launch_softmax_fwd(x.raw_data_ptr(), out.raw_data_ptr(), x.dtype(), v.outer, v.n, v.inner, log,
                                  ctx.stream);
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& gy, const detail::RowGeometry& v, bool log,
                                   Tensor& gx) {
  KILN_INTERNAL_ASSERT(y.is_contiguous() && gy.is_contiguous() && gx.is_contiguous(),
                       "softmax_backward expects contiguous tensors");
  if (gx.numel() == 0) return;
  LaunchContext ctx(y.device());
  kernels::launch_softmax_bwd(y.raw_data_ptr(), gy.raw_data_ptr(), gx.raw_data_ptr(), y.dtype(), v.outer, v.n,
                                   v.inner, log, ctx.stream);
}

}  // namespace kiln::cuda
