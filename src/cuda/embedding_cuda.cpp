// CudaBackend::embedding_forward / embedding_backward: kernels/embedding.cu,
// the backward's path chosen by kiln::cuda::embedding_deterministic(), its
// scratch (sort buffers or an f32 accumulator) in a cuda::Workspace.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"
#include "cuda/workspace.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

void CudaBackend::embedding_forward(const Tensor& weight, const Tensor& ids, Tensor& out, Tensor& errors) {
  KILN_INTERNAL_ASSERT(weight.is_contiguous() && ids.is_contiguous() && out.is_contiguous(),
                       "embedding_forward expects contiguous tensors");
  if (ids.numel() == 0) return;  // with C == 0 the ids are still checked
  LaunchContext ctx(weight.device());
  kernels::launch_embedding_fwd(weight.raw_data_ptr(), static_cast<const int64_t*>(ids.raw_data_ptr()),
                                out.raw_data_ptr(), static_cast<int64_t*>(errors.raw_data_ptr()), weight.dtype(),
                                ids.size(0), weight.size(0), weight.size(1), ctx.stream);
}

void CudaBackend::embedding_backward(const Tensor& grad, const Tensor& ids, int64_t padding_idx, Tensor& grad_weight) {
  KILN_INTERNAL_ASSERT(grad.is_contiguous() && ids.is_contiguous() && grad_weight.is_contiguous(),
                       "embedding_backward expects contiguous tensors");
  if (grad_weight.numel() == 0) return;
  LaunchContext ctx(grad.device());
  const bool deterministic = embedding_deterministic();
  const int64_t N = ids.size(0), V = grad_weight.size(0), C = grad_weight.size(1);
  Workspace ws(grad.device().index(), kernels::embedding_bwd_workspace_bytes(grad.dtype(), N, V, C, deterministic));
  kernels::launch_embedding_bwd(grad.raw_data_ptr(), static_cast<const int64_t*>(ids.raw_data_ptr()),
                                grad_weight.raw_data_ptr(), ws.data(), grad.dtype(), N, V, C, padding_idx,
                                deterministic, ctx.stream);
}

}  // namespace kiln::cuda
