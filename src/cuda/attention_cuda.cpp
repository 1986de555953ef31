// CudaBackend::attention_forward / attention_backward: kernels/attention.cu
// on contiguous [B, H, T, D] tensors; the mask passes by pointer and
// strides (broadcast dims have stride 0), the backward's row sums of
// dO * O in a cuda::Workspace.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"
#include "cuda/workspace.h"

namespace kiln::cuda {

namespace {

kernels::AttentionArgs args_of(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                               const detail::AttentionParams& p) {
  kernels::AttentionArgs a;
  a.B = q.size(0);
  a.H = q.size(1);
  a.Tq = q.size(2);
  a.D = q.size(3);
  a.Tk = k.size(2);
  a.Dv = v.size(3);
  a.scale = p.scale;
  a.causal = p.causal;
  if (mask.defined()) {
    a.mask = mask.raw_data_ptr();
    a.mask_is_bool = mask.dtype() == kBool;
    for (int d = 0; d < 4; ++d) a.mask_strides[d] = mask.stride(d);
  }
  a.dropout_p = p.dropout_p;
  a.seed = p.dropout.seed;
  a.offset = p.dropout.offset;
  return a;
}

void* ptr_or_null(Tensor& t) { return t.defined() ? t.raw_data_ptr() : nullptr; }

}  // namespace

void CudaBackend::attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    const detail::AttentionParams& p, Tensor& out, Tensor& lse) {
  KILN_INTERNAL_ASSERT(q.is_contiguous() && k.is_contiguous() && v.is_contiguous() && out.is_contiguous(),
                       "attention_forward expects contiguous q, k, v and out");
  if (out.numel() == 0 && lse.numel() == 0) return;
  LaunchContext ctx(q.device());
  kernels::launch_attention_fwd(args_of(q, k, v, mask, p), q.raw_data_ptr(), k.raw_data_ptr(), v.raw_data_ptr(),
                                out.raw_data_ptr(), lse.raw_data_ptr(), q.dtype(), ctx.stream);
}

void CudaBackend::attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k, const Tensor& v,
                                     const Tensor& mask, const Tensor& out, const Tensor& lse,
                                     const detail::AttentionParams& p, Tensor& gq, Tensor& gk, Tensor& gv) {
  KILN_INTERNAL_ASSERT(gout.is_contiguous() && q.is_contiguous() && k.is_contiguous() && v.is_contiguous() &&
                           out.is_contiguous(),
                       "attention_backward expects contiguous tensors");
  LaunchContext ctx(q.device());
  const kernels::AttentionArgs a = args_of(q, k, v, mask, p);
  Workspace ws(q.device().index(), kernels::attention_bwd_workspace_bytes(a, q.dtype()));
  kernels::launch_attention_bwd(a, gout.raw_data_ptr(), q.raw_data_ptr(), k.raw_data_ptr(), v.raw_data_ptr(),
                                out.raw_data_ptr(), lse.raw_data_ptr(), ptr_or_null(gq), ptr_or_null(gk),
                                ptr_or_null(gv), ws.data(), q.dtype(), ctx.stream);
}

}  // namespace kiln::cuda
