// Launcher of the hand-written implicit-GEMM 2-D convolution (kernels/conv2d.cu).
// Plain C++ (included from src/cuda and the benchmarks).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// x [N,C,H,W], w [K,C,R,S], y [N,K,P,Q], bias [K] or null; all contiguous
// NCHW, groups = 1. P = (H + 2*pad_h - dil_h*(R-1) - 1) / stride_h + 1, Q alike.
struct Conv2dShape {
  int64_t N = 0, C = 0, H = 0, W = 0;  // input
  int64_t K = 0, R = 0, S = 0;         // filters
  int64_t P = 0, Q = 0;                // output
  int stride_h = 1, stride_w = 1, pad_h = 0, pad_w = 0, dil_h = 1, dil_w = 1;
};

// Whether the implicit-GEMM kernel handles this dtype (f32, bf16, f16).
bool conv2d_fwd_supports(DType dtype);
// y = conv(x, w) + bias, overwriting y. Accumulates in f32; f16/bf16 are
// converted on load and rounded once on store. Throws DTypeError for an
// unsupported dtype.
void launch_conv2d_fwd(const void* x, const void* w, const void* bias, void* y, DType dtype,
                       const Conv2dShape& shape, cudaStream_t stream);

}  // namespace kiln::kernels
