// 2-D convolution forward as an implicit GEMM, with SIMT f32 arithmetic.
//
// Shapes: x [N,C,H,W], w [K,C,R,S], bias [K] (optional), y [N,K,P,Q]; all
// contiguous NCHW; groups = 1; any stride, padding and dilation.
// Precision: f32, bf16 or f16 storage; every product is accumulated in f32 and
// y is rounded once. y is overwritten (not accumulated).
//
// Algorithm: the convolution is the GEMM  Y[m][k] = sum_j A[m][j] * B[j][k]
// with m = (n, p, q) an output pixel (M = N*P*Q), k an output channel and
// j = (c, r, s) a filter tap (J = C*R*S). A is never materialised ("implicit
// im2col"): A[m][j] = x[n, c, p*stride_h - pad_h + r*dil_h, q*stride_w - pad_w +
// s*dil_w], zero outside the image. B[j][k] = w[k*J + j] is the weight as stored.
//
// One block of 256 threads computes a 128 (pixels) x 64 (channels) tile of Y,
// stepping through J in slices of 16: each slice of A (16x128) and B (16x64) is
// staged in shared memory as f32, then every thread accumulates an 8x4
// register tile. Each thread keeps the same pixel for all of its A loads, so
// the (n, p, q) decomposition is done once per block, not once per element.
// Consecutive threads load consecutive pixels (A) and consecutive taps of one
// filter (B), which are the contiguous directions in x and w.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "common/check.h"
#include "common/nvtx.h"
#include "conv2d.h"
#include "kiln/core/half.h"

namespace kiln::kernels {
namespace {

constexpr int kTileM = 128;  // output pixels per block
constexpr int kTileK = 64;   // output channels per block
constexpr int kTileJ = 16;   // filter taps per shared-memory slice
constexpr int kConvThreads = 256;
constexpr int kThreadM = 8;  // pixels per thread: 4 at tx*4 and 4 at 64 + tx*4
constexpr int kThreadK = 4;  // channels per thread: ty*4 .. ty*4+3
// Rows of the B slice are padded to keep float4 alignment while spreading the
// transposed stores over more banks.
constexpr int kBStride = kTileK + 4;

__device__ __forceinline__ float load_f32(const float* p) { return __ldg(p); }
__device__ __forceinline__ float load_f32(const BFloat16* p) {
  return __bfloat162float(__ldg(reinterpret_cast<const __nv_bfloat16*>(p)));
}
__device__ __forceinline__ float load_f32(const Half* p) { return __half2float(__ldg(reinterpret_cast<const __half*>(p))); }

__device__ __forceinline__ void store_from_f32(float* p, float v) { *p = v; }
__device__ __forceinline__ void store_from_f32(BFloat16* p, float v) {
  *reinterpret_cast<__nv_bfloat16*>(p) = __float2bfloat16_rn(v);
}
__device__ __forceinline__ void store_from_f32(Half* p, float v) { *reinterpret_cast<__half*>(p) = __float2half_rn(v); }

template <class T>
__global__ void __launch_bounds__(kConvThreads)
    conv2d_implicit_gemm_fwd_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ bias,
                                    T* __restrict__ y, Conv2dShape s) {
  __shared__ __align__(16) float a_tile[kTileJ][kTileM];
  __shared__ __align__(16) float b_tile[kTileJ][kBStride];

  const int tid = threadIdx.x;
  const int64_t PQ = s.P * s.Q;
  const int64_t M = s.N * PQ;
  const int RS = static_cast<int>(s.R * s.S);
  const int64_t J = s.C * RS;
  const int64_t m_block = static_cast<int64_t>(blockIdx.x) * kTileM;
  const int64_t k_block = static_cast<int64_t>(blockIdx.y) * kTileK;

  // --- A loads: this thread's pixel is fixed; its taps are a_j0 + 2*l.
  const int a_m = tid % kTileM;
  const int a_j0 = tid / kTileM;  // 0 or 1
  const int64_t a_pixel = m_block + a_m;
  const bool a_valid = a_pixel < M;
  int ih_base = 0, iw_base = 0;
  const T* x_image = x;
  if (a_valid) {
    const int64_t n = a_pixel / PQ;
    const int64_t pq = a_pixel - n * PQ;
    const int p = static_cast<int>(pq / s.Q);
    const int q = static_cast<int>(pq - static_cast<int64_t>(p) * s.Q);
    ih_base = p * s.stride_h - s.pad_h;
    iw_base = q * s.stride_w - s.pad_w;
    x_image = x + n * s.C * s.H * s.W;
  }
  // --- B loads: tap b_j of channels b_k0 + 16*l.
  const int b_j = tid % kTileJ;
  const int b_k0 = tid / kTileJ;  // 0..15

  // --- compute mapping.
  const int tx = tid % 16;  // pixel group
  const int ty = tid / 16;  // channel group

  float acc[kThreadM][kThreadK];
#pragma unroll
  for (int i = 0; i < kThreadM; ++i)
#pragma unroll
    for (int j = 0; j < kThreadK; ++j) acc[i][j] = 0.f;

  for (int64_t j_block = 0; j_block < J; j_block += kTileJ) {
#pragma unroll
    for (int l = 0; l < kTileJ / 2; ++l) {
      const int jl = a_j0 + 2 * l;
      const int64_t j = j_block + jl;
      float v = 0.f;
      if (a_valid && j < J) {
        const int64_t c = j / RS;
        const int rs = static_cast<int>(j - c * RS);
        const int r = rs / static_cast<int>(s.S);
        const int sx = rs - r * static_cast<int>(s.S);
        const int ih = ih_base + r * s.dil_h;
        const int iw = iw_base + sx * s.dil_w;
        if (ih >= 0 && ih < s.H && iw >= 0 && iw < s.W) v = load_f32(x_image + (c * s.H + ih) * s.W + iw);
      }
      a_tile[jl][a_m] = v;
    }
#pragma unroll
    for (int l = 0; l < kTileK / 16; ++l) {
      const int kl = b_k0 + 16 * l;
      const int64_t k = k_block + kl;
      const int64_t j = j_block + b_j;
      b_tile[b_j][kl] = (k < s.K && j < J) ? load_f32(w + k * J + j) : 0.f;
    }
    __syncthreads();

#pragma unroll
    for (int jl = 0; jl < kTileJ; ++jl) {
      const float4 a_lo = *reinterpret_cast<const float4*>(&a_tile[jl][tx * 4]);
      const float4 a_hi = *reinterpret_cast<const float4*>(&a_tile[jl][64 + tx * 4]);
      const float4 b4 = *reinterpret_cast<const float4*>(&b_tile[jl][ty * 4]);
      const float a[kThreadM] = {a_lo.x, a_lo.y, a_lo.z, a_lo.w, a_hi.x, a_hi.y, a_hi.z, a_hi.w};
      const float b[kThreadK] = {b4.x, b4.y, b4.z, b4.w};
#pragma unroll
      for (int i = 0; i < kThreadM; ++i)
#pragma unroll
        for (int jj = 0; jj < kThreadK; ++jj) acc[i][jj] = fmaf(a[i], b[jj], acc[i][jj]);
    }
    __syncthreads();
  }

  // --- epilogue: add bias, round once, write NCHW.
  float bias_v[kThreadK];
#pragma unroll
  for (int jj = 0; jj < kThreadK; ++jj) {
    const int64_t k = k_block + ty * 4 + jj;
    bias_v[jj] = (bias != nullptr && k < s.K) ? load_f32(bias + k) : 0.f;
  }
#pragma unroll
  for (int i = 0; i < kThreadM; ++i) {
    const int64_t m = m_block + (i < 4 ? tx * 4 + i : 64 + tx * 4 + (i - 4));
    if (m >= M) continue;
    const int64_t n = m / PQ;
    const int64_t pq = m - n * PQ;
#pragma unroll
    for (int jj = 0; jj < kThreadK; ++jj) {
      const int64_t k = k_block + ty * 4 + jj;
      if (k < s.K) store_from_f32(y + (n * s.K + k) * PQ + pq, acc[i][jj] + bias_v[jj]);
    }
  }
}

template <class T>
void launch_typed(const void* x, const void* w, const void* bias, void* y, const Conv2dShape& s,
                  cudaStream_t stream) {
  const int64_t M = s.N * s.P * s.Q;
  const int64_t grid_m = (M + kTileM - 1) / kTileM;
  const int64_t grid_k = (s.K + kTileK - 1) / kTileK;
  KILN_CHECK(grid_m <= 0x7fffffff && grid_k <= 65535, ValueError, "conv2d (implicit GEMM): output of ", s.N, "x",
             s.K, "x", s.P, "x", s.Q, " is too large for one launch");
  const dim3 grid(static_cast<unsigned>(grid_m), static_cast<unsigned>(grid_k));
  conv2d_implicit_gemm_fwd_kernel<T><<<grid, kConvThreads, 0, stream>>>(
      static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(bias), static_cast<T*>(y), s);
  KILN_CHECK_LAUNCH("conv2d_implicit_gemm_fwd", stream);
}

}  // namespace

bool conv2d_fwd_supports(DType dtype) {
  return dtype == kFloat32 || dtype == kBFloat16 || dtype == kFloat16;
}

void launch_conv2d_fwd(const void* x, const void* w, const void* bias, void* y, DType dtype,
                       const Conv2dShape& s, cudaStream_t stream) {
  KILN_NVTX_RANGE("conv2d_fwd");
  if (s.N == 0 || s.K == 0 || s.P == 0 || s.Q == 0) return;
  // The per-pixel coordinates are kept in 32 bits.
  KILN_CHECK(s.H < (1 << 30) && s.W < (1 << 30) && s.C * s.H * s.W < (int64_t{1} << 31), ValueError,
             "conv2d (implicit GEMM): one input image of ", s.C, "x", s.H, "x", s.W, " is too large");
  // C*R*S == 0 needs no special case: the tap loop is empty and y = bias (or 0).
  switch (dtype) {
    case kFloat32: return launch_typed<float>(x, w, bias, y, s, stream);
    case kBFloat16: return launch_typed<BFloat16>(x, w, bias, y, s, stream);
    case kFloat16: return launch_typed<Half>(x, w, bias, y, s, stream);
    default: break;
  }
  throw DTypeError(detail::str_cat("conv2d (implicit GEMM): dtype ", dtype_name(dtype),
                                   " is not supported (float32, bfloat16, float16)"));
}

}  // namespace kiln::kernels
