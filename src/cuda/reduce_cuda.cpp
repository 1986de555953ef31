// CudaBackend::reduce / arg_reduce: kernels/reduce.cu. Split reductions
// get a Workspace (stream-ordered, so it is released as soon as the
// launches are queued).
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"
#include "cuda/workspace.h"

namespace kiln::cuda {

void CudaBackend::reduce(detail::ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  const kernels::StridedArray xa = strided_array("reduce", x);
  const kernels::StridedArray oa = strided_array("reduce", out);
  uint32_t mask = 0;
  for (int64_t d : dims) mask |= 1u << d;
  const Workspace workspace(x.device().index(), kernels::reduce_workspace_bytes(op, xa, mask));
  kernels::launch_reduce(op, xa, mask, oa, workspace.data(), ctx.stream);
}

void CudaBackend::arg_reduce(detail::ArgReduceOp op, const Tensor& x, int64_t dim, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  kernels::launch_arg_reduce(op, strided_array("arg_reduce", x), static_cast<int>(dim),
                             strided_array("arg_reduce", out), ctx.stream);
}

}  // namespace kiln::cuda
