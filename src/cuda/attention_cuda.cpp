// CudaBackend::attention_forward / attention_backward: kernels/attention.cu
// on contiguous [B, H, T, D] tensors (strided operands, which the backend
// contract allows, are copied to contiguous ones first, and strided results
// written through contiguous ones); the mask passes by pointer and strides
// (broadcast dims have stride 0), the backward's row sums of dO * O in a
// cuda::Workspace.
#include "core/tensor_impl.h"
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

// t itself when contiguous (or undefined), else a contiguous copy.
Tensor dense(CudaBackend& be, const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  Tensor c = detail::make_empty(t.sizes(), t.dtype(), t.device());
  be.copy(t, c);
  return c;
}
// Where a kernel writes result t: t itself when contiguous, else a new
// contiguous tensor that write_back copies into t.
Tensor dense_target(const Tensor& t) {
  if (!t.defined() || t.is_contiguous()) return t;
  return detail::make_empty(t.sizes(), t.dtype(), t.device());
}
void write_back(CudaBackend& be, Tensor& target, Tensor& t) {
  if (t.defined() && !target.is_same(t)) be.copy(target, t);
}

}  // namespace

void CudaBackend::attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                    const detail::AttentionParams& p, Tensor& out, Tensor& lse) {
  if (out.numel() == 0 && lse.numel() == 0) return;
  const Tensor qd = dense(*this, q), kd = dense(*this, k), vd = dense(*this, v);
  Tensor od = dense_target(out);
  LaunchContext ctx(q.device());
  kernels::launch_attention_fwd(args_of(qd, kd, vd, mask, p), qd.raw_data_ptr(), kd.raw_data_ptr(), vd.raw_data_ptr(),
                                od.raw_data_ptr(), lse.raw_data_ptr(), q.dtype(), ctx.stream);
  write_back(*this, od, out);
}

void CudaBackend::attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k, const Tensor& v,
                                     const Tensor& mask, const Tensor& out, const Tensor& lse,
                                     const detail::AttentionParams& p, Tensor& gq, Tensor& gk, Tensor& gv) {
  const Tensor god = dense(*this, gout), qd = dense(*this, q), kd = dense(*this, k), vd = dense(*this, v),
               od = dense(*this, out);
  Tensor gqd = dense_target(gq), gkd = dense_target(gk), gvd = dense_target(gv);
  LaunchContext ctx(q.device());
  const kernels::AttentionArgs a = args_of(qd, kd, vd, mask, p);
  Workspace ws(q.device().index(), kernels::attention_bwd_workspace_bytes(a, q.dtype()));
  kernels::launch_attention_bwd(a, god.raw_data_ptr(), qd.raw_data_ptr(), kd.raw_data_ptr(), vd.raw_data_ptr(),
                                od.raw_data_ptr(), lse.raw_data_ptr(), ptr_or_null(gqd), ptr_or_null(gkd),
                                ptr_or_null(gvd), ws.data(), q.dtype(), ctx.stream);
  write_back(*this, gqd, gq);
  write_back(*this, gkd, gk);
  write_back(*this, gvd, gv);
}

}  // namespace kiln::cuda
