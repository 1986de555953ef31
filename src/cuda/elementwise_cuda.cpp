// CudaBackend::unary / binary / where: kernels/elementwise.cu, which runs
// the same functors as the CPU backend.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::unary(detail::UnaryOp op, const Tensor& x, Tensor& out, const detail::UnaryParams& params) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  const auto arrays = coalesced_arrays("unary", {&out, &x});
  kernels::launch_unary(op, arrays[1], arrays[0], params, ctx.stream);
}

void CudaBackend::binary(detail::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  const auto arrays = coalesced_arrays("binary", {&out, &a, &b});
  kernels::launch_binary(op, arrays[1], arrays[2], arrays[0], ctx.stream);
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  const auto arrays = coalesced_arrays("where", {&out, &cond, &a, &b});
  kernels::launch_where(arrays[1], arrays[2], arrays[3], arrays[0], ctx.stream);
}

}  // namespace kiln::cuda
