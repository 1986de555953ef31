// Launchers of the 2-D pooling kernels (kernels/pool2d.cu). Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// planes = N*C independent [H,W] -> [Ho,Wo] planes, all contiguous. The
// window of output (ho, wo) starts at (ho*stride_h - pad_h, wo*stride_w -
// pad_w); Ho/Wo are whatever the caller chose (floor or ceil mode).
struct Pool2dShape {
  int64_t planes = 0;
  int64_t H = 0, W = 0, Ho = 0, Wo = 0;
  int kernel_h = 1, kernel_w = 1, stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0;
  bool count_include_pad = true;  // avg pool only
};

// y = max over each window; indices (int64) = h*W + w of the max within its
// plane (a NaN wins: the first in the window). Floating dtypes.
void launch_max_pool2d_fwd(const void* x, void* y, int64_t* indices, DType dtype, const Pool2dShape& shape,
                           cudaStream_t stream);
// gx (planes x gx_plane_size, overwritten) = sum of gy over the outputs whose
// index points at each element. gy/indices have planes x gy_plane_size
// elements. f16/bf16 accumulate in an f32 workspace of
// max_pool2d_bwd_workspace_bytes(...) bytes (0 for f32/f64).
size_t max_pool2d_bwd_workspace_bytes(DType dtype, int64_t planes, int64_t gx_plane_size);
void launch_max_pool2d_bwd(const void* gy, const int64_t* indices, void* gx, DType dtype, int64_t planes,
                           int64_t gy_plane_size, int64_t gx_plane_size, void* workspace, cudaStream_t stream);
// y = mean over each window, PyTorch's divisor rule: the window clipped to the
// padded input when count_include_pad, else clipped to the input.
void launch_avg_pool2d_fwd(const void* x, void* y, DType dtype, const Pool2dShape& shape, cudaStream_t stream);
// gx (overwritten) = the adjoint of launch_avg_pool2d_fwd applied to gy.
void launch_avg_pool2d_bwd(const void* gy, void* gx, DType dtype, const Pool2dShape& shape, cudaStream_t stream);

}  // namespace kiln::kernels
