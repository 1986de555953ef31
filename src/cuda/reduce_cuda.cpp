// CudaBackend::reduce / arg_reduce: kernels/reduce.cu. Split reductions
// get their workspace from the caching allocator (stream-ordered, so it can
// be released as soon as the launches are queued).
// Status: compiled, not yet run on a GPU.
#include "core/tensor_impl.h"
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

namespace {
kernels::ReduceOp kernel_op(detail::ReduceOp op) {
  switch (op) {
    case detail::ReduceOp::Sum: return kernels::ReduceOp::Sum;
    case detail::ReduceOp::Max: return kernels::ReduceOp::Max;
    case detail::ReduceOp::Min: return kernels::ReduceOp::Min;
  }
  throw InternalError("reduce: unknown op");
}
}  // namespace

void CudaBackend::reduce(detail::ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  const kernels::StridedArray xa = strided_array("reduce", x);
  const kernels::StridedArray oa = strided_array("reduce", out);
  uint32_t mask = 0;
  for (int64_t d : dims) mask |= 1u << d;
  const size_t ws_bytes = kernels::reduce_workspace_bytes(kernel_op(op), xa, mask);
  Tensor workspace;
  if (ws_bytes > 0) workspace = detail::make_empty({static_cast<int64_t>(ws_bytes)}, kUInt8, x.device());
  kernels::launch_reduce(kernel_op(op), xa, mask, oa, ws_bytes > 0 ? workspace.raw_data_ptr() : nullptr,
                         ctx.stream);
}

void CudaBackend::arg_reduce(detail::ArgReduceOp op, const Tensor& x, int64_t dim, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  const auto kop = op == detail::ArgReduceOp::ArgMax ? kernels::ArgReduceOp::ArgMax : kernels::ArgReduceOp::ArgMin;
  kernels::launch_arg_reduce(kop, strided_array("arg_reduce", x), static_cast<int>(dim),
                             strided_array("arg_reduce", out), ctx.stream);
}

}  // namespace kiln::cuda
