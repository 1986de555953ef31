// CudaBackend::cross_entropy_forward / cross_entropy_backward:
// kernels/cross_entropy.cu over contiguous [N,C] logits.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::cross_entropy_forward(const Tensor& logits, const Tensor& target, int64_t ignore_index,
                                        double label_smoothing, Tensor& losses, Tensor& lse, Tensor& target_errors) {
  KILN_INTERNAL_ASSERT(logits.is_contiguous() && target.is_contiguous() && losses.is_contiguous() &&
                           lse.is_contiguous(),
                       "cross_entropy_forward expects contiguous tensors");
  if (losses.numel() == 0) return;
  LaunchContext ctx(logits.device());
  kernels::launch_cross_entropy_fwd(logits.raw_data_ptr(), static_cast<const int64_t*>(target.raw_data_ptr()),
                                        losses.raw_data_ptr(), lse.raw_data_ptr(),
                                        static_cast<int64_t*>(target_errors.raw_data_ptr()), logits.dtype(),
                                        logits.size(0), logits.size(1), ignore_index, label_smoothing, ctx.stream);
}

void CudaBackend::cross_entropy_backward(const Tensor& grad_losses, const Tensor& logits, const Tensor& target,
                                         const Tensor& lse, int64_t ignore_index, double label_smoothing,
                                         Tensor& grad_logits) {
  KILN_INTERNAL_ASSERT(grad_losses.is_contiguous() && logits.is_contiguous() && target.is_contiguous() &&
                           lse.is_contiguous() && grad_logits.is_contiguous(),
                       "cross_entropy_backward expects contiguous tensors");
  if (grad_logits.numel() == 0) return;
  LaunchContext ctx(logits.device());
  kernels::launch_cross_entropy_bwd(grad_losses.raw_data_ptr(), logits.raw_data_ptr(),
                                         static_cast<const int64_t*>(target.raw_data_ptr()), lse.raw_data_ptr(),
                                         grad_logits.raw_data_ptr(), logits.dtype(), logits.size(0), logits.size(1),
                                         ignore_index, label_smoothing, ctx.stream);
}

}  // namespace kiln::cuda
