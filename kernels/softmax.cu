// softmax / log_softmax forward and backward over one dim.
//
// Shapes: x, y, gy, gx contiguous, viewed as [outer, n, inner]; the softmax
// runs over n. Precision: f16/bf16 load to f32 and compute in f32; f32 in
// f32; f64 in f64 (expf/exp, no fast-math intrinsics). Overwrites y / gx.
// Forward algorithm: the online max and sum of common/online_softmax.cuh
// (one pass, partial (m, s) pairs combined across the warp / block), then a
// second pass writes y = exp(x - m) / s (log: x - m - log s).
// Backward: softmax gx = y * (gy - sum(gy * y)); log_softmax
// gx = gy - exp(y) * sum(gy).
// Launch: inner == 1 and n <= 1024: one warp per row, 8 rows per 256-thread
// block; inner == 1 and n > 1024: one 512-thread block per row; inner > 1:
// one thread per (outer, inner) column walking n with stride inner
// (neighbouring threads read neighbouring addresses).
#include <limits>

#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/online_softmax.cuh"
#include "common/opmath.cuh"
#include "common/reduce.cuh"
#include "functors/math.h"
#include "softmax.h"

namespace kiln::kernels {

namespace {

constexpr int kWarpRowMax = 1024;   // longest row handled by one warp
constexpr int kRowBlockThreads = 512;

template <class V>
struct Plus {
  __device__ V operator()(V a, V b) const { return a + b; }
};

template <class T, class V = opmath_t<T>>
__device__ inline void write_row(const T* x, T* y, int64_t n, int64_t stride, int64_t first, int64_t step,
                                 MaxSum<V> ms, bool log) {
  const V m = shift_of(ms);
  if (log) {
    const V lse = logsumexp_of(ms);
    for (int64_t k = first; k < n; k += step) y[k * stride] = static_cast<T>(static_cast<V>(x[k * stride]) - lse);
  } else {
    const V inv = V(1) / ms.s;
    for (int64_t k = first; k < n; k += step)
      y[k * stride] = static_cast<T>(functors::exp_(static_cast<V>(x[k * stride]) - m) * inv);
  }
}

// One warp per contiguous row.
template <class T>
__global__ void softmax_warp_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t rows, int64_t n, bool log) {
  using V = opmath_t<T>;
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // whole warps leave together
  const T* xr = x + row * n;
  MaxSum<V> ms = max_sum_identity<V>();
  for (int64_t k = lane; k < n; k += 32) online_add(ms, static_cast<V>(xr[k]));
  ms = warp_allreduce(ms, CombineMaxSum<V>{});
  write_row<T>(xr, y + row * n, n, 1, lane, 32, ms, log);
}

// One block per contiguous row.
template <class T>
__global__ void softmax_block_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t n, bool log) {
  using V = opmath_t<T>;
  const T* xr = x + static_cast<int64_t>(blockIdx.x) * n;
  MaxSum<V> ms = max_sum_identity<V>();
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) online_add(ms, static_cast<V>(xr[k]));
  ms = block_allreduce(ms, max_sum_identity<V>(), CombineMaxSum<V>{});
  write_row<T>(xr, y + static_cast<int64_t>(blockIdx.x) * n, n, 1, threadIdx.x, blockDim.x, ms, log);
}

// One thread per (outer, inner) column.
template <class T>
__global__ void softmax_column_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n,
                                      int64_t inner, bool log) {
  using V = opmath_t<T>;
  for (int64_t c = global_thread(); c < outer * inner; c += grid_threads()) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    MaxSum<V> ms = max_sum_identity<V>();
    for (int64_t k = 0; k < n; ++k) online_add(ms, static_cast<V>(x[base + k * inner]));
    write_row<T>(x + base, y + base, n, inner, 0, 1, ms, log);
  }
}

// --- backward ---------------------------------------------------------------------

template <class T, class V = opmath_t<T>>
__device__ inline V dot_term(const T* y, const T* gy, int64_t j, bool log) {
  return log ? static_cast<V>(gy[j]) : static_cast<V>(gy[j]) * static_cast<V>(y[j]);
}

template <class T, class V = opmath_t<T>>
__device__ inline void write_grad(const T* y, const T* gy, T* gx, int64_t j, V dot, bool log) {
  const V yv = static_cast<V>(y[j]), gv = static_cast<V>(gy[j]);
  gx[j] = static_cast<T>(log ? gv - functors::exp_(yv) * dot : yv * (gv - dot));
}

template <class T>
__global__ void softmax_backward_warp_kernel(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx,
                                             int64_t rows, int64_t n, bool log) {
  using V = opmath_t<T>;
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  const int64_t base = row * n;
  V dot = 0;
  for (int64_t k = lane; k < n; k += 32) dot += dot_term<T>(y, gy, base + k, log);
  dot = warp_allreduce(dot, Plus<V>{});
  for (int64_t k = lane; k < n; k += 32) write_grad<T>(y, gy, gx, base + k, dot, log);
}

template <class T>
__global__ void softmax_backward_block_kernel(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx,
                                              int64_t n, bool log) {
  using V = opmath_t<T>;
  const int64_t base = static_cast<int64_t>(blockIdx.x) * n;
  V dot = 0;
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) dot += dot_term<T>(y, gy, base + k, log);
  dot = block_allreduce(dot, V(0), Plus<V>{});
  for (int64_t k = threadIdx.x; k < n; k += blockDim.x) write_grad<T>(y, gy, gx, base + k, dot, log);
}

template <class T>
__global__ void softmax_backward_column_kernel(const T* __restrict__ y, const T* __restrict__ gy, T* __restrict__ gx,
                                               int64_t outer, int64_t n, int64_t inner, bool log) {
  using V = opmath_t<T>;
  for (int64_t c = global_thread(); c < outer * inner; c += grid_threads()) {
    const int64_t base = (c / inner) * n * inner + c % inner;
    V dot = 0;
    for (int64_t k = 0; k < n; ++k) dot += dot_term<T>(y, gy, base + k * inner, log);
    for (int64_t k = 0; k < n; ++k) write_grad<T>(y, gy, gx, base + k * inner, dot, log);
  }
}

// Row kernels use gridDim.x = rows; beyond this, rows are processed in slices.
constexpr int64_t kMaxGridX = 2147483647;

}  // namespace

void launch_softmax_fwd(const void* x, void* y, DType dtype, int64_t outer, int64_t n, int64_t inner, bool log,
                        cudaStream_t stream) {
  const char* name = log ? "log_softmax_fwd" : "softmax_fwd";
  KILN_NVTX_RANGE(name);
  if (outer == 0 || n == 0 || inner == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x);
    T* yp = static_cast<T*>(y);
    if (inner > 1) {
      softmax_column_kernel<T><<<grid_for(outer * inner, kThreads), kThreads, 0, stream>>>(xp, yp, outer, n, inner, log);
    } else if (n <= kWarpRowMax) {
      const int64_t rows_per_block = kThreads / 32;
      softmax_warp_kernel<T><<<static_cast<unsigned>(ceil_div(outer, rows_per_block)), kThreads, 0, stream>>>(
          xp, yp, outer, n, log);
    } else {
      for (int64_t r0 = 0; r0 < outer; r0 += kMaxGridX) {
        const int64_t rows = std::min(outer - r0, kMaxGridX);
        softmax_block_kernel<T><<<static_cast<unsigned>(rows), kRowBlockThreads, 0, stream>>>(xp + r0 * n, yp + r0 * n,
                                                                                              n, log);
      }
    }
    KILN_CHECK_LAUNCH(name, stream);
  });
}

void launch_softmax_bwd(const void* y, const void* gy, void* gx, DType dtype, int64_t outer, int64_t n,
                        int64_t inner, bool log, cudaStream_t stream) {
  const char* name = log ? "log_softmax_bwd" : "softmax_bwd";
  KILN_NVTX_RANGE(name);
  if (outer == 0 || n == 0 || inner == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    const T* yp = static_cast<const T*>(y);
    const T* gp = static_cast<const T*>(gy);
    T* op = static_cast<T*>(gx);
    if (inner > 1) {
      softmax_backward_column_kernel<T><<<grid_for(outer * inner, kThreads), kThreads, 0, stream>>>(yp, gp, op, outer,
                                                                                                   n, inner, log);
    } else if (n <= kWarpRowMax) {
      const int64_t rows_per_block = kThreads / 32;
      softmax_backward_warp_kernel<T><<<static_cast<unsigned>(ceil_div(outer, rows_per_block)), kThreads, 0, stream>>>(
          yp, gp, op, outer, n, log);
    } else {
      for (int64_t r0 = 0; r0 < outer; r0 += kMaxGridX) {
        const int64_t rows = std::min(outer - r0, kMaxGridX);
        softmax_backward_block_kernel<T><<<static_cast<unsigned>(rows), kRowBlockThreads, 0, stream>>>(
            yp + r0 * n, gp + r0 * n, op + r0 * n, n, log);
      }
    }
    KILN_CHECK_LAUNCH(name, stream);
  });
}

}  // namespace kiln::kernels
