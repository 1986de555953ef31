// CudaBackend::cumsum: kernels/cumsum.cu over the op's [outer, n, inner] view.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::cumsum(const Tensor& x, const detail::RowGeometry& g, bool reverse, Tensor& out) {
  KILN_INTERNAL_ASSERT(x.is_contiguous() && out.is_contiguous(), "cumsum expects contiguous tensors");
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  kernels::launch_cumsum(x.raw_data_ptr(), out.raw_data_ptr(), x.dtype(), g.outer, g.n, g.inner, reverse, ctx.stream);
}

}  // namespace kiln::cuda
