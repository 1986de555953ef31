// CudaBackend::softmax_forward / softmax_backward: kernels/softmax.cu over
// the [outer, n, inner] view of contiguous tensors.
// Status: compiled, not yet run on a GPU.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

namespace {
struct RowView {
  int64_t outer = 1, n = 1, inner = 1;
};
RowView around(const Tensor& t, int64_t dim) {
  RowView v;
  if (t.dim() == 0) return v;
  for (int64_t d = 0; d < dim; ++d) v.outer *= t.size(d);
  v.n = t.size(dim);
  for (int64_t d = dim + 1; d < t.dim(); ++d) v.inner *= t.size(d);
  return v;
}
}  // namespace

void CudaBackend::softmax_forward(const Tensor& x, int64_t dim, bool log, Tensor& out) {
  KILN_INTERNAL_ASSERT(x.is_contiguous() && out.is_contiguous(), "softmax_forward expects contiguous tensors");
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  const RowView v = around(x, dim);
  kernels::launch_softmax_forward(x.raw_data_ptr(), out.raw_data_ptr(), x.dtype(), v.outer, v.n, v.inner, log,
                                  ctx.stream);
}

void CudaBackend::softmax_backward(const Tensor& y, const Tensor& gy, int64_t dim, bool log, Tensor& gx) {
  KILN_INTERNAL_ASSERT(y.is_contiguous() && gy.is_contiguous() && gx.is_contiguous(),
                       "softmax_backward expects contiguous tensors");
  if (gx.numel() == 0) return;
  LaunchContext ctx(y.device());
  const RowView v = around(y, dim);
  kernels::launch_softmax_backward(y.raw_data_ptr(), gy.raw_data_ptr(), gx.raw_data_ptr(), y.dtype(), v.outer, v.n,
                                   v.inner, log, ctx.stream);
}

}  // namespace kiln::cuda
