// 2-D max and average pooling, forward and backward, NCHW contiguous.
//
// Shapes: x/gx [planes, H, W], y/gy/indices [planes, Ho, Wo] with planes = N*C.
// Precision: f32/f64/f16/bf16 storage, f16/bf16 computed in f32.
// Outputs are overwritten, never accumulated into.
//
// Forward: one thread per output element scans its window. The window of
// (ho, wo) covers rows ho*stride_h - pad_h + [0, kernel_h), clipped to the
// input; the caller's Ho/Wo already follow PyTorch's ceil-mode rule.
// Max pool records the flat position h*W + w of the maximum; a NaN wins and
// the first NaN of the window is kept (the CPU backend's rule; PyTorch keeps
// the last one).
// Average pool divides by PyTorch's divisor: with count_include_pad, the
// window clipped to the padded input [-pad, H + pad); without it, the
// number of real input elements in the window.
//
// Backward: avg pool is a gather (one thread per input element sums the
// outputs whose windows contain it), so it needs no atomics and is
// deterministic. Max pool receives only the indices, not the window
// geometry, so it scatters gy through them with atomicAdd; f16/bf16 scatter
// into an f32 workspace that is rounded once at the end.
#include "common/check.h"
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "kiln/core/half.h"
#include "pool2d.h"

namespace kiln::kernels {
namespace {

template <class T> using op_t = opmath_t<T>;

template <class T>
__device__ __forceinline__ bool is_nan(T v) {
  return v != v;
}

template <class T>
__global__ void max_pool2d_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t* __restrict__ indices,
                                      Pool2dShape s) {
  const int64_t total = s.planes * s.Ho * s.Wo;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t wo = i % s.Wo;
    const int64_t ho = (i / s.Wo) % s.Ho;
    const int64_t plane = i / (s.Wo * s.Ho);
    int64_t h0 = ho * s.stride_h - s.pad_h;
    int64_t w0 = wo * s.stride_w - s.pad_w;
    const int64_t h1 = min(h0 + s.kernel_h, s.H);
    const int64_t w1 = min(w0 + s.kernel_w, s.W);
    h0 = max(h0, int64_t{0});
    w0 = max(w0, int64_t{0});
    const T* xp = x + plane * s.H * s.W;
    op_t<T> best = -INFINITY;
    int64_t best_index = h0 * s.W + w0;
    for (int64_t h = h0; h < h1; ++h) {
      for (int64_t w = w0; w < w1; ++w) {
        const op_t<T> v = static_cast<op_t<T>>(xp[h * s.W + w]);
        if (v > best || (is_nan(v) && !is_nan(best))) {  // the first NaN wins, as on the CPU backend
          best = v;
          best_index = h * s.W + w;
        }
      }
    }
    y[i] = static_cast<T>(best);
    indices[i] = best_index;
  }
}

// Acc is T for f32/f64 (atomics on the output itself) and float for f16/bf16.
template <class T, class Acc>
__global__ void max_pool2d_bwd_scatter_kernel(const T* __restrict__ gy, const int64_t* __restrict__ indices,
                                              Acc* __restrict__ gx, int64_t planes, int64_t gy_plane,
                                              int64_t gx_plane) {
  const int64_t total = planes * gy_plane;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t plane = i / gy_plane;
    atomicAdd(gx + plane * gx_plane + indices[i], static_cast<Acc>(static_cast<op_t<T>>(gy[i])));
  }
}

template <class T>
__global__ void round_from_f32_kernel(const float* __restrict__ src, T* __restrict__ dst, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) dst[i] = static_cast<T>(src[i]);
}

// The window of output (ho, wo) and PyTorch's divisor for it.
struct AvgWindow {
  int64_t h0, h1, w0, w1;
  int64_t divisor;
};
__device__ __forceinline__ AvgWindow avg_window(const Pool2dShape& s, int64_t ho, int64_t wo) {
  int64_t h0 = ho * s.stride_h - s.pad_h;
  int64_t w0 = wo * s.stride_w - s.pad_w;
  int64_t h1 = min(h0 + s.kernel_h, s.H + s.pad_h);
  int64_t w1 = min(w0 + s.kernel_w, s.W + s.pad_w);
  const int64_t padded_size = (h1 - h0) * (w1 - w0);
  h0 = max(h0, int64_t{0});
  w0 = max(w0, int64_t{0});
  h1 = min(h1, s.H);
  w1 = min(w1, s.W);
  const int64_t real_size = (h1 - h0) * (w1 - w0);
  return {h0, h1, w0, w1, s.count_include_pad ? padded_size : real_size};
}

template <class T>
__global__ void avg_pool2d_fwd_kernel(const T* __restrict__ x, T* __restrict__ y, Pool2dShape s) {
  const int64_t total = s.planes * s.Ho * s.Wo;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t wo = i % s.Wo;
    const int64_t ho = (i / s.Wo) % s.Ho;
    const int64_t plane = i / (s.Wo * s.Ho);
    const AvgWindow win = avg_window(s, ho, wo);
    if (win.h0 >= win.h1 || win.w0 >= win.w1) {  // a window entirely in the padding
      y[i] = static_cast<T>(op_t<T>(0));
      continue;
    }
    const T* xp = x + plane * s.H * s.W;
    op_t<T> sum = 0;
    for (int64_t h = win.h0; h < win.h1; ++h)
      for (int64_t w = win.w0; w < win.w1; ++w) sum += static_cast<op_t<T>>(xp[h * s.W + w]);
    y[i] = static_cast<T>(sum / static_cast<op_t<T>>(win.divisor));
  }
}

template <class T>
__global__ void avg_pool2d_bwd_kernel(const T* __restrict__ gy, T* __restrict__ gx, Pool2dShape s) {
  const int64_t total = s.planes * s.H * s.W;
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t w = i % s.W;
    const int64_t h = (i / s.W) % s.H;
    const int64_t plane = i / (s.W * s.H);
    // Outputs whose window [ho*stride - pad, ho*stride - pad + kernel) contains h.
    const int64_t hp = h + s.pad_h, wp = w + s.pad_w;
    const int64_t ho0 = hp < s.kernel_h ? 0 : (hp - s.kernel_h) / s.stride_h + 1;
    const int64_t ho1 = min(hp / s.stride_h + 1, s.Ho);
    const int64_t wo0 = wp < s.kernel_w ? 0 : (wp - s.kernel_w) / s.stride_w + 1;
    const int64_t wo1 = min(wp / s.stride_w + 1, s.Wo);
    const T* gyp = gy + plane * s.Ho * s.Wo;
    op_t<T> sum = 0;
    for (int64_t ho = ho0; ho < ho1; ++ho) {
      for (int64_t wo = wo0; wo < wo1; ++wo) {
        const AvgWindow win = avg_window(s, ho, wo);
        sum += static_cast<op_t<T>>(gyp[ho * s.Wo + wo]) / static_cast<op_t<T>>(win.divisor);
      }
    }
    gx[i] = static_cast<T>(sum);
  }
}

}  // namespace

void launch_max_pool2d_fwd(const void* x, void* y, int64_t* indices, DType dtype, const Pool2dShape& s,
                           cudaStream_t stream) {
  KILN_NVTX_RANGE("max_pool2d_fwd");
  const int64_t total = s.planes * s.Ho * s.Wo;
  if (total == 0) return;
  visit_floating(dtype, "max_pool2d", [&](auto tag) {
    using T = decltype(tag);
    max_pool2d_fwd_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(x),
                                                                                 static_cast<T*>(y), indices, s);
    KILN_CHECK_LAUNCH("max_pool2d_fwd", stream);
  });
}

size_t max_pool2d_bwd_workspace_bytes(DType dtype, int64_t planes, int64_t gx_plane_size) {
  return is_low_precision(dtype) ? static_cast<size_t>(planes * gx_plane_size) * sizeof(float) : 0;
}

void launch_max_pool2d_bwd(const void* gy, const int64_t* indices, void* gx, DType dtype, int64_t planes,
                           int64_t gy_plane_size, int64_t gx_plane_size, void* workspace, cudaStream_t stream) {
  KILN_NVTX_RANGE("max_pool2d_bwd");
  const int64_t gx_total = planes * gx_plane_size;
  if (gx_total == 0) return;
  const int64_t gy_total = planes * gy_plane_size;
  visit_floating(dtype, "max_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      KILN_CUDA_CHECK(cudaMemsetAsync(gx, 0, gx_total * sizeof(T), stream));
      if (gy_total == 0) return;
      max_pool2d_bwd_scatter_kernel<T, T><<<grid_for(gy_total, kThreads), kThreads, 0, stream>>>(
          static_cast<const T*>(gy), indices, static_cast<T*>(gx), planes, gy_plane_size, gx_plane_size);
      KILN_CHECK_LAUNCH("max_pool2d_bwd_scatter", stream);
    } else {
      KILN_CHECK(workspace != nullptr, ValueError, "max_pool2d_backward: ", dtype_name(dtype),
                 " needs an f32 workspace of ", max_pool2d_bwd_workspace_bytes(dtype, planes, gx_plane_size),
                 " bytes");
      float* acc = static_cast<float*>(workspace);
      KILN_CUDA_CHECK(cudaMemsetAsync(acc, 0, gx_total * sizeof(float), stream));
      if (gy_total > 0) {
        max_pool2d_bwd_scatter_kernel<T, float><<<grid_for(gy_total, kThreads), kThreads, 0, stream>>>(
            static_cast<const T*>(gy), indices, acc, planes, gy_plane_size, gx_plane_size);
        KILN_CHECK_LAUNCH("max_pool2d_bwd_scatter", stream);
      }
      round_from_f32_kernel<T><<<grid_for(gx_total, kThreads), kThreads, 0, stream>>>(acc, static_cast<T*>(gx),
                                                                                       gx_total);
      KILN_CHECK_LAUNCH("max_pool2d_bwd_round", stream);
    }
  });
}

void launch_avg_pool2d_fwd(const void* x, void* y, DType dtype, const Pool2dShape& s, cudaStream_t stream) {
  KILN_NVTX_RANGE("avg_pool2d_fwd");
  const int64_t total = s.planes * s.Ho * s.Wo;
  if (total == 0) return;
  visit_floating(dtype, "avg_pool2d", [&](auto tag) {
    using T = decltype(tag);
    avg_pool2d_fwd_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(x),
                                                                                 static_cast<T*>(y), s);
    KILN_CHECK_LAUNCH("avg_pool2d_fwd", stream);
  });
}

void launch_avg_pool2d_bwd(const void* gy, void* gx, DType dtype, const Pool2dShape& s, cudaStream_t stream) {
  KILN_NVTX_RANGE("avg_pool2d_bwd");
  const int64_t total = s.planes * s.H * s.W;
  if (total == 0) return;
  visit_floating(dtype, "avg_pool2d_backward", [&](auto tag) {
    using T = decltype(tag);
    avg_pool2d_bwd_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream>>>(static_cast<const T*>(gy),
                                                                                 static_cast<T*>(gx), s);
    KILN_CHECK_LAUNCH("avg_pool2d_bwd", stream);
  });
}

}  // namespace kiln::kernels
