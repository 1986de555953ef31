// CudaBackend::multinomial: kernels/multinomial.cu, its f64 copies of the
// weights and chunk sums in a cuda::Workspace.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"
#include "cuda/workspace.h"

namespace kiln::cuda {

void CudaBackend::multinomial(const Tensor& weights, int64_t num_samples, bool replacement, const GeneratorState& state,
                              Tensor& out, Tensor& errors) {
  KILN_INTERNAL_ASSERT(weights.is_contiguous() && out.is_contiguous(), "multinomial expects contiguous tensors");
  if (out.numel() == 0) return;
  LaunchContext ctx(weights.device());
  const int64_t R = weights.size(0), n = weights.size(1);
  Workspace ws(weights.device().index(), kernels::multinomial_workspace_bytes(R, n));
  kernels::launch_multinomial(weights.raw_data_ptr(), static_cast<int64_t*>(out.raw_data_ptr()),
                              static_cast<int64_t*>(errors.raw_data_ptr()), ws.data(), weights.dtype(), R, n,
                              num_samples, replacement, state.seed, state.offset, ctx.stream);
}

}  // namespace kiln::cuda
