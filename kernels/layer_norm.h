// Launchers of kernels/layer_norm.cu: layer norm and RMS norm over the rows
// of a contiguous [rows, n] tensor, forward and fused backward. Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// y = (x - mean) * rstd * w + b (rms: y = x * rstd * w; mean unused and may
// be null). w, b: [n] in x's dtype or null. mean, rstd [rows]: f32 (f64 for
// f64 x). Floating dtypes.
void launch_layer_norm_fwd(const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                           DType dtype, int64_t rows, int64_t n, double eps, bool rms, cudaStream_t stream);
// Scratch bytes launch_layer_norm_bwd needs for gw/gb partial sums (0 when
// neither is wanted).
size_t layer_norm_bwd_workspace_bytes(DType dtype, int64_t rows, int64_t n, bool want_w, bool want_b);
// gx [rows, n] (or null), gw, gb [n] (or null) from gy, x, w (or null) and
// the forward's mean (null for rms) and rstd. Deterministic: per-block
// partial sums of gw/gb in `workspace` (layer_norm_bwd_workspace_bytes),
// added in block order by a second kernel; no atomics.
void launch_layer_norm_bwd(const void* gy, const void* x, const void* w, const void* mean, const void* rstd, void* gx,
                           void* gw, void* gb, void* workspace, DType dtype, int64_t rows, int64_t n, bool rms,
                           cudaStream_t stream);

}  // namespace kiln::kernels
