// Cross entropy with logits over class-index targets, forward and backward.
//
// Shapes: logits [rows, C] contiguous, target int64 [rows]. Precision:
// f16/bf16 load to f32 and compute in f32; f32 in f32; f64 in f64.
// Forward: one pass over the row keeps the online max and sum of
// common/online_softmax.cuh (as softmax.cu does) and the plain sum of x
// (for label smoothing); partial triples combine across the warp / block.
// lse = m + log s (m = 0 for an all -inf row, like softmax).
// Backward: softmax is recomputed from the saved lse, one thread per element.
// Targets: one outside [0, C) that is not ignore_index is counted (atomics
// on target_errors) and gets a NaN loss; the op raises the error later.
// Launch: forward C <= 1024: one warp per row, 8 rows per 256-thread block;
// C > 1024: one 512-thread block per row. Backward: grid-stride over rows * C.
#include <algorithm>
#include <limits>

#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/online_softmax.cuh"
#include "common/opmath.cuh"
#include "common/reduce.cuh"
#include "cross_entropy.h"
#include "functors/math.h"

namespace kiln::kernels {

namespace {

constexpr int kWarpRowMax = 1024;  // longest row handled by one warp
constexpr int kRowBlockThreads = 512;
constexpr int64_t kMaxGridX = 2147483647;

// The online softmax statistics of common/online_softmax.cuh plus the plain
// sum of the row (for label smoothing).
template <class V>
struct RowStats {
  MaxSum<V> ms;
  V sum;
};
template <class V> __device__ inline RowStats<V> row_stats_identity() { return RowStats<V>{max_sum_identity<V>(), V(0)}; }

template <class V>
__device__ inline void add_value(RowStats<V>& a, V x) {
  a.sum += x;
  online_add(a.ms, x);
}

template <class V>
struct CombineStats {
  __device__ RowStats<V> operator()(RowStats<V> a, RowStats<V> b) const {
    return RowStats<V>{combine_max_sum(a.ms, b.ms), a.sum + b.sum};
  }
};

// A target outside [0, C) that is not ignore_index is counted in errors[0]
// (errors[1] keeps one such value) for the op's deferred error, and its loss
// is NaN; x[t] is never read for it.
template <class T, class V = opmath_t<T>>
__device__ inline void write_loss(const T* xr, int64_t t, int64_t C, int64_t ignore_index, V eps, RowStats<V> st,
                                  T* loss, V* lse, int64_t* errors) {
  const V row_lse = logsumexp_of(st.ms);
  *lse = row_lse;
  if (t == ignore_index) {
    *loss = static_cast<T>(V(0));
    return;
  }
  if (t < 0 || t >= C) {
    atomicAdd(reinterpret_cast<unsigned long long*>(&errors[0]), 1ull);
    atomicExch(reinterpret_cast<unsigned long long*>(&errors[1]), static_cast<unsigned long long>(t));
    *loss = static_cast<T>(std::numeric_limits<V>::quiet_NaN());
    return;
  }
  V l = (V(1) - eps) * (row_lse - static_cast<V>(xr[t]));
  if (eps > V(0)) l += eps * (row_lse - st.sum / static_cast<V>(C));
  *loss = static_cast<T>(l);
}

template <class T>
__global__ void cross_entropy_warp_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                                          T* __restrict__ loss, opmath_t<T>* __restrict__ lse,
                                          int64_t* __restrict__ errors, int64_t rows, int64_t C, int64_t ignore_index,
                                          opmath_t<T> eps) {
  using V = opmath_t<T>;
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;  // whole warps leave together
  const T* xr = x + row * C;
  RowStats<V> st = row_stats_identity<V>();
  for (int64_t k = lane; k < C; k += 32) add_value(st, static_cast<V>(xr[k]));
  st = warp_allreduce(st, CombineStats<V>{});
  if (lane == 0) write_loss<T>(xr, target[row], C, ignore_index, eps, st, loss + row, lse + row, errors);
}

template <class T>
__global__ void cross_entropy_block_kernel(const T* __restrict__ x, const int64_t* __restrict__ target,
                                           T* __restrict__ loss, opmath_t<T>* __restrict__ lse,
                                           int64_t* __restrict__ errors, int64_t C, int64_t ignore_index,
                                           opmath_t<T> eps) {
  using V = opmath_t<T>;
  const int64_t row = blockIdx.x;
  const T* xr = x + row * C;
  RowStats<V> st = row_stats_identity<V>();
  for (int64_t k = threadIdx.x; k < C; k += blockDim.x) add_value(st, static_cast<V>(xr[k]));
  st = block_allreduce(st, row_stats_identity<V>(), CombineStats<V>{});
  if (threadIdx.x == 0) write_loss<T>(xr, target[row], C, ignore_index, eps, st, loss + row, lse + row, errors);
}

template <class T>
__global__ void cross_entropy_backward_kernel(const T* __restrict__ grad, const T* __restrict__ x,
                                              const int64_t* __restrict__ target,
                                              const opmath_t<T>* __restrict__ lse, T* __restrict__ gx, int64_t rows,
                                              int64_t C, int64_t ignore_index, opmath_t<T> eps) {
  using V = opmath_t<T>;
  const V off = eps / static_cast<V>(C);
  for (int64_t i = global_thread(); i < rows * C; i += grid_threads()) {
    const int64_t row = i / C, c = i % C;
    const int64_t t = target[row];
    if (t == ignore_index) {
      gx[i] = static_cast<T>(V(0));
      continue;
    }
    const V q = (c == t ? V(1) - eps : V(0)) + off;
    gx[i] = static_cast<T>(static_cast<V>(grad[row]) * (functors::exp_(static_cast<V>(x[i]) - lse[row]) - q));
  }
}

}  // namespace

void launch_cross_entropy_fwd(const void* logits, const int64_t* target, void* losses, void* lse,
                              int64_t* target_errors, DType dtype, int64_t rows, int64_t C, int64_t ignore_index,
                              double label_smoothing, cudaStream_t stream) {
  const char* name = "cross_entropy_fwd";
  KILN_NVTX_RANGE(name);
  if (rows == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const T* xp = static_cast<const T*>(logits);
    T* lp = static_cast<T*>(losses);
    V* sp = static_cast<V*>(lse);
    const V eps = static_cast<V>(label_smoothing);
    if (C <= kWarpRowMax) {
      const int64_t rows_per_block = kThreads / 32;
      cross_entropy_warp_kernel<T><<<static_cast<unsigned>(ceil_div(rows, rows_per_block)), kThreads, 0, stream>>>(
          xp, target, lp, sp, target_errors, rows, C, ignore_index, eps);
    } else {
      for (int64_t r0 = 0; r0 < rows; r0 += kMaxGridX) {
        const int64_t n = std::min(rows - r0, kMaxGridX);
        cross_entropy_block_kernel<T><<<static_cast<unsigned>(n), kRowBlockThreads, 0, stream>>>(
            xp + r0 * C, target + r0, lp + r0, sp + r0, target_errors, C, ignore_index, eps);
      }
    }
    KILN_CHECK_LAUNCH(name, stream);
  });
}

void launch_cross_entropy_bwd(const void* grad_losses, const void* logits, const int64_t* target,
                              const void* lse, void* grad_logits, DType dtype, int64_t rows, int64_t C,
                              int64_t ignore_index, double label_smoothing, cudaStream_t stream) {
  const char* name = "cross_entropy_bwd";
  KILN_NVTX_RANGE(name);
  if (rows == 0 || C == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    cross_entropy_backward_kernel<T><<<grid_for(rows * C, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(grad_losses), static_cast<const T*>(logits), target, static_cast<const V*>(lse),
        static_cast<T*>(grad_logits), rows, C, ignore_index, static_cast<V>(label_smoothing));
    KILN_CHECK_LAUNCH(name, stream);
  });
}

}  // namespace kiln::kernels
