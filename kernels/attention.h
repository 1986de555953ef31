// Launchers of kernels/attention.cu: fused scaled dot-product attention,
// forward and backward, never holding the Tq x Tk scores. Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// q [B*H, Tq, D], k [B*H, Tk, D], v [B*H, Tk, Dv], out [B*H, Tq, Dv]
// contiguous in one floating dtype; lse [B*H, Tq] f32 (f64 for f64).
struct AttentionArgs {
  int64_t B = 0, H = 0, Tq = 0, Tk = 0, D = 0, Dv = 0;
  double scale = 1;
  bool causal = false;  // query i sees keys j <= i
  // mask: null, bool (true = takes part) or q's dtype (added), element
  // (b, h, i, j) at b*s0 + h*s1 + i*s2 + j*s3 (strides in elements, 0 where
  // broadcast).
  const void* mask = nullptr;
  bool mask_is_bool = false;
  int64_t mask_strides[4] = {0, 0, 0, 0};
  // Dropout: probability (b, h, i, j) is kept when the float uniform of
  // Philox element ((b*H + h)*Tq + i)*Tk + j at (seed, offset) is >= p, and
  // scaled by 1/(1 - p).
  double dropout_p = 0;
  uint64_t seed = 0, offset = 0;
};

// Which forward kernel launch_attention_fwd runs for these arguments:
// "tensor_core" (f16/bf16, D == Dv in {32, 64, 128}, 16-byte aligned
// pointers, the block's shared memory within the device's opt-in limit;
// the backward's larger layout is checked separately) or "general"
// (everything else). For tests and benchmarks.
const char* attention_fwd_kernel_name(const AttentionArgs& a, DType dtype, const void* q, const void* k,
                                      const void* v, const void* out);
// Set to true to make launch_attention_fwd use the general kernel always
// (the benchmarks and tests compare the two).
void set_attention_force_general(bool force);

void launch_attention_fwd(const AttentionArgs& a, const void* q, const void* k, const void* v, void* out, void* lse,
                          DType dtype, cudaStream_t stream);
size_t attention_bwd_workspace_bytes(const AttentionArgs& a, DType dtype);
// gq, gk, gv (each may be null) like q, k, v, from gout like out and the
// forward's out and lse; overwritten. Deterministic (no atomics): dQ is
// computed per query, dK and dV per key.
void launch_attention_bwd(const AttentionArgs& a, const void* gout, const void* q, const void* k, const void* v,
                          const void* out, const void* lse, void* gq, void* gk, void* gv, void* workspace, DType dtype,
                          cudaStream_t stream);

}  // namespace kiln::kernels
