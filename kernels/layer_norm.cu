// Layer norm and RMS norm over the rows of a contiguous [rows, n] tensor.
//
// Precision: f16/bf16/f32 load to f32 and keep the statistics in f32; f64
// computes in f64. The mean and rstd are saved for the backward.
// Forward: one warp per row (8 rows per 256-thread block), three passes over
// the row (mean; centred sum of squares; write), the later ones mostly from
// L1/L2.
// Backward, as llm.c's layernorm_backward: one 256-thread block per row at a
// time (block b takes rows b, b + G, b + 2G, ...), one pass for the two row
// means of dnorm = gy*w and dnorm*xhat, one to write gx and add gy*xhat and
// gy to the block's partial gw and gb. Each thread owns the columns tid,
// tid + 256, ... of those partials, so they need no atomics; they live in
// shared memory when 2n values fit in 48 KB beside block_allreduce's static
// partials, in the workspace otherwise. A
// second kernel adds the G partials of each column in block order, so gw and
// gb do not depend on timing.
#include <algorithm>

#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "common/reduce.cuh"
#include "functors/math.h"
#include "layer_norm.h"

namespace kiln::kernels {

namespace {

constexpr int kBwdThreads = 256;
constexpr size_t kSharedLimit = 48 * 1024;

template <class V>
struct Pair {
  V a, b;
};
template <class V>
struct AddPair {
  __device__ Pair<V> operator()(Pair<V> x, Pair<V> y) const { return Pair<V>{x.a + y.a, x.b + y.b}; }
};
template <class V>
struct Add {
  __device__ V operator()(V x, V y) const { return x + y; }
};

template <class T>
__global__ void layer_norm_fwd_kernel(const T* __restrict__ x, const T* __restrict__ w, const T* __restrict__ b,
                                      T* __restrict__ y, opmath_t<T>* __restrict__ mean,
                                      opmath_t<T>* __restrict__ rstd, int64_t rows, int64_t n, opmath_t<T> eps,
                                      bool rms) {
  using V = opmath_t<T>;
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // whole warps leave together
  const T* xr = x + row * n;
  T* yr = y + row * n;
  V m = 0;
  if (!rms) {
    V s = 0;
    for (int64_t i = lane; i < n; i += 32) s += static_cast<V>(xr[i]);
    m = warp_allreduce(s, Add<V>{}) / static_cast<V>(n);
  }
  V ss = 0;
  for (int64_t i = lane; i < n; i += 32) {
    const V d = static_cast<V>(xr[i]) - m;
    ss += d * d;
  }
  ss = warp_allreduce(ss, Add<V>{});
  const V s = V(1) / functors::sqrt_(ss / static_cast<V>(n) + eps);
  if (lane == 0) {
    if (!rms) mean[row] = m;
    rstd[row] = s;
  }
  for (int64_t i = lane; i < n; i += 32) {
    V v = (static_cast<V>(xr[i]) - m) * s;
    if (w) v *= static_cast<V>(w[i]);
    if (b) v += static_cast<V>(b[i]);
    yr[i] = static_cast<T>(v);
  }
}

// Block `blockIdx.x` of G: rows blockIdx.x, blockIdx.x + G, ...; partial
// sums of gw and gb to partial_w / partial_b [G, n] (null when not wanted).
template <class T>
__global__ void __launch_bounds__(kBwdThreads) layer_norm_bwd_kernel(
    const T* __restrict__ gy, const T* __restrict__ x, const T* __restrict__ w, const opmath_t<T>* __restrict__ mean,
    const opmath_t<T>* __restrict__ rstd, T* __restrict__ gx, opmath_t<T>* __restrict__ partial_w,
    opmath_t<T>* __restrict__ partial_b, int64_t rows, int64_t n, bool in_shared) {
  using V = opmath_t<T>;
  extern __shared__ unsigned char shared_bytes[];
  const int64_t G = gridDim.x;
  V* acc_w = nullptr;
  V* acc_b = nullptr;
  if (in_shared) {
    V* s = reinterpret_cast<V*>(shared_bytes);
    if (partial_w) acc_w = s;
    if (partial_b) acc_b = s + (partial_w ? n : 0);
  } else {
    if (partial_w) acc_w = partial_w + blockIdx.x * n;
    if (partial_b) acc_b = partial_b + blockIdx.x * n;
  }
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    if (acc_w) acc_w[i] = V(0);
    if (acc_b) acc_b[i] = V(0);
  }
  for (int64_t row = blockIdx.x; row < rows; row += G) {
    const T* xr = x + row * n;
    const T* gr = gy + row * n;
    const V m = mean ? mean[row] : V(0), s = rstd[row];
    Pair<V> sums{V(0), V(0)};
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const V xhat = (static_cast<V>(xr[i]) - m) * s;
      const V d = static_cast<V>(gr[i]) * (w ? static_cast<V>(w[i]) : V(1));
      sums.a += d;
      sums.b += d * xhat;
    }
    sums = block_allreduce(sums, Pair<V>{V(0), V(0)}, AddPair<V>{});
    // RMS norm subtracts no mean, so its gradient has no mean(dnorm) term.
    const V mean_d = mean ? sums.a / static_cast<V>(n) : V(0);
    const V mean_dx = sums.b / static_cast<V>(n);
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      const V xhat = (static_cast<V>(xr[i]) - m) * s;
      const V g = static_cast<V>(gr[i]);
      if (gx) {
        const V d = g * (w ? static_cast<V>(w[i]) : V(1));
        gx[row * n + i] = static_cast<T>((d - mean_d - xhat * mean_dx) * s);
      }
      if (acc_w) acc_w[i] += g * xhat;
      if (acc_b) acc_b[i] += g;
    }
  }
  if (in_shared)
    for (int64_t i = threadIdx.x; i < n; i += blockDim.x) {
      if (acc_w) partial_w[blockIdx.x * n + i] = acc_w[i];
      if (acc_b) partial_b[blockIdx.x * n + i] = acc_b[i];
    }
}

// dst[i] = sum over g < G of partial[g, i], in g order.
template <class T>
__global__ void layer_norm_param_grad_kernel(const opmath_t<T>* __restrict__ partial, T* __restrict__ dst, int64_t G,
                                             int64_t n) {
  using V = opmath_t<T>;
  for (int64_t i = global_thread(); i < n; i += grid_threads()) {
    V acc = 0;
    for (int64_t g = 0; g < G; ++g) acc += partial[g * n + i];
    dst[i] = static_cast<T>(acc);
  }
}

int64_t backward_blocks(int64_t rows) { return std::max<int64_t>(1, std::min<int64_t>(rows, 2 * sm_count())); }

size_t stat_size(DType dtype) { return dtype == DType::Float64 ? sizeof(double) : sizeof(float); }

}  // namespace

void launch_layer_norm_fwd(const void* x, const void* w, const void* b, void* y, void* mean, void* rstd,
                           DType dtype, int64_t rows, int64_t n, double eps, bool rms, cudaStream_t stream) {
  const char* name = rms ? "rms_norm_fwd" : "layer_norm_fwd";
  KILN_NVTX_RANGE(name);
  if (rows == 0 || n == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const int64_t rows_per_block = kThreads / 32;
    layer_norm_fwd_kernel<T><<<static_cast<unsigned>(ceil_div(rows, rows_per_block)), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const T*>(b), static_cast<T*>(y),
        static_cast<V*>(mean), static_cast<V*>(rstd), rows, n, static_cast<V>(eps), rms);
    KILN_CHECK_LAUNCH(name, stream);
  });
}

size_t layer_norm_bwd_workspace_bytes(DType dtype, int64_t rows, int64_t n, bool want_w, bool want_b) {
  if (rows == 0 || n == 0 || (!want_w && !want_b)) return 0;
  return static_cast<size_t>((want_w ? 1 : 0) + (want_b ? 1 : 0)) * static_cast<size_t>(backward_blocks(rows)) *
         static_cast<size_t>(n) * stat_size(dtype);
}

void launch_layer_norm_bwd(const void* gy, const void* x, const void* w, const void* mean, const void* rstd, void* gx,
                           void* gw, void* gb, void* workspace, DType dtype, int64_t rows, int64_t n, bool rms,
                           cudaStream_t stream) {
  const char* name = rms ? "rms_norm_bwd" : "layer_norm_bwd";
  KILN_NVTX_RANGE(name);
  if (rows == 0 || n == 0 || (!gx && !gw && !gb)) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const int64_t G = backward_blocks(rows);
    V* partial_w = gw ? static_cast<V*>(workspace) : nullptr;
    V* partial_b = gb ? static_cast<V*>(workspace) + (gw ? G * n : 0) : nullptr;
    const size_t shared = static_cast<size_t>((gw ? 1 : 0) + (gb ? 1 : 0)) * static_cast<size_t>(n) * sizeof(V);
    // The 48 KB limit holds for static and dynamic shared memory together:
    // block_allreduce's 32 Pair<V> are static (n = 6144 with gw and gb in f32
    // is exactly 48 KB of dynamic memory, and would not launch).
    const size_t static_shared = 32 * sizeof(Pair<V>);
    const bool in_shared = shared + static_shared <= kSharedLimit;
    layer_norm_bwd_kernel<T><<<static_cast<unsigned>(G), kBwdThreads, in_shared ? shared : 0, stream>>>(
        static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const T*>(w), static_cast<const V*>(mean),
        static_cast<const V*>(rstd), static_cast<T*>(gx), partial_w, partial_b, rows, n, in_shared);
    KILN_CHECK_LAUNCH(name, stream);
    if (gw) {
      layer_norm_param_grad_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(partial_w, static_cast<T*>(gw),
                                                                                     G, n);
      KILN_CHECK_LAUNCH(name, stream);
    }
    if (gb) {
      layer_norm_param_grad_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(partial_b, static_cast<T*>(gb),
                                                                                     G, n);
      KILN_CHECK_LAUNCH(name, stream);
    }
  });
}

}  // namespace kiln::kernels
