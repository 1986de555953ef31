// CudaBackend::layer_norm_forward / layer_norm_backward: kernels/layer_norm.cu
// over contiguous [R, n] rows, the gw/gb partial sums in a cuda::Workspace.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"
#include "cuda/workspace.h"

namespace kiln::cuda {

namespace {
const void* ptr_or_null(const Tensor& t) { return t.defined() ? t.raw_data_ptr() : nullptr; }
void* mut_ptr_or_null(Tensor& t) { return t.defined() ? t.raw_data_ptr() : nullptr; }
}  // namespace

void CudaBackend::layer_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, bool rms,
                                     Tensor& out, Tensor& mean, Tensor& rstd) {
  KILN_INTERNAL_ASSERT(x.is_contiguous() && out.is_contiguous(), "layer_norm_forward expects contiguous tensors");
  if (out.numel() == 0) return;
  LaunchContext ctx(x.device());
  kernels::launch_layer_norm_fwd(x.raw_data_ptr(), ptr_or_null(weight), ptr_or_null(bias), out.raw_data_ptr(),
                                 rms ? nullptr : mean.raw_data_ptr(), rstd.raw_data_ptr(), x.dtype(), x.size(0),
                                 x.size(1), eps, rms, ctx.stream);
}

void CudaBackend::layer_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& mean,
                                      const Tensor& rstd, bool rms, Tensor& gx, Tensor& gw, Tensor& gb) {
  KILN_INTERNAL_ASSERT(gy.is_contiguous() && x.is_contiguous(), "layer_norm_backward expects contiguous tensors");
  if (x.numel() == 0) return;
  LaunchContext ctx(x.device());
  const int64_t rows = x.size(0), n = x.size(1);
  Workspace ws(x.device().index(),
               kernels::layer_norm_bwd_workspace_bytes(x.dtype(), rows, n, gw.defined(), gb.defined()));
  kernels::launch_layer_norm_bwd(gy.raw_data_ptr(), x.raw_data_ptr(), ptr_or_null(weight),
                                 rms ? nullptr : mean.raw_data_ptr(), rstd.raw_data_ptr(), mut_ptr_or_null(gx),
                                 mut_ptr_or_null(gw), mut_ptr_or_null(gb), ws.data(), x.dtype(), rows, n, rms,
                                 ctx.stream);
}

}  // namespace kiln::cuda
