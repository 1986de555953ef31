// CudaBackend::index_select / gather / scatter_add: kernels/index.cu.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  KILN_INTERNAL_ASSERT(index.dim() == 1 && index.dtype() == kInt64, "index_select expects a 1-D int64 index");
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_index_select(strided_array("index_select", x), static_cast<int>(dim),
                               static_cast<const int64_t*>(index.raw_data_ptr()), index.stride(0),
                               strided_array("index_select", out), ctx.stream);
}

void CudaBackend::gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  KILN_INTERNAL_ASSERT(index.dtype() == kInt64, "gather expects an int64 index");
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_gather(strided_array("gather", x), static_cast<int>(dim), strided_array("gather", index),
                         strided_array("gather", out), ctx.stream);
}

void CudaBackend::scatter_add(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  KILN_INTERNAL_ASSERT(index.dtype() == kInt64, "scatter_add expects an int64 index");
  if (index.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_scatter_add(strided_array("scatter_add", out), static_cast<int>(dim),
                              strided_array("scatter_add", index), strided_array("scatter_add", src), ctx.stream);
}

}  // namespace kiln::cuda
