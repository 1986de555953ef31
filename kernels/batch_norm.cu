// Batch-norm backward in eval mode (cuDNN's backward assumes batch statistics).
//
// Shapes: x/gy/gx [N, C, HW] contiguous; weight/mean/invstd/gw/gb [C].
// Precision: f32/f16/bf16 data with f32 parameters and f32 accumulation, or
// f64 throughout. Outputs are overwritten.
//
// gx is elementwise (grid-stride over all elements). gw/gb need per-channel
// sums over N*HW: one block per channel walks its N planes of HW elements
// and reduces (sum gy, sum gy*(x-mean)) with a block reduction.
#include "batch_norm.h"
#include "common/check.h"
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/reduce.cuh"
#include "kiln/core/half.h"

namespace kiln::kernels {
namespace {

template <class T, class P>
__global__ void bn_eval_grad_input_kernel(const T* __restrict__ gy, const P* __restrict__ weight,
                                          const P* __restrict__ invstd, T* __restrict__ gx, int64_t C, int64_t HW,
                                          int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    const int64_t c = (i / HW) % C;
    const P scale = invstd[c] * (weight != nullptr ? weight[c] : P(1));
    gx[i] = static_cast<T>(static_cast<P>(gy[i]) * scale);
  }
}

template <class P>
struct SumPair {
  P gy;
  P gy_xhat;
};

template <class T, class P>
__global__ void bn_eval_grad_params_kernel(const T* __restrict__ gy, const T* __restrict__ x,
                                           const P* __restrict__ mean, const P* __restrict__ invstd,
                                           P* __restrict__ gw, P* __restrict__ gb, int64_t N, int64_t C,
                                           int64_t HW) {
  const int64_t c = blockIdx.x;
  const P mu = mean[c];
  SumPair<P> acc{P(0), P(0)};
  for (int64_t n = 0; n < N; ++n) {
    const int64_t base = (n * C + c) * HW;
    for (int64_t j = threadIdx.x; j < HW; j += blockDim.x) {
      const P g = static_cast<P>(gy[base + j]);
      acc.gy += g;
      acc.gy_xhat += g * (static_cast<P>(x[base + j]) - mu);
    }
  }
  const SumPair<P> total = block_allreduce(acc, SumPair<P>{P(0), P(0)}, [](SumPair<P> a, SumPair<P> b) {
    return SumPair<P>{a.gy + b.gy, a.gy_xhat + b.gy_xhat};
  });
  if (threadIdx.x == 0) {
    if (gb != nullptr) gb[c] = total.gy;
    if (gw != nullptr) gw[c] = total.gy_xhat * invstd[c];
  }
}

template <class T>
void launch_typed(const void* gy, const void* x, const void* weight, const void* mean, const void* invstd, void* gx,
                  void* gw, void* gb, int64_t N, int64_t C, int64_t HW, cudaStream_t stream) {
  using P = opmath_t<T>;
  const int64_t total = N * C * HW;
  if (gx != nullptr && total > 0) {
    bn_eval_grad_input_kernel<T, P><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(gy), static_cast<const P*>(weight), static_cast<const P*>(invstd), static_cast<T*>(gx),
        C, HW, total);
    KILN_CHECK_LAUNCH("batch_norm_eval_grad_input", stream);
  }
  if ((gw != nullptr || gb != nullptr) && C > 0) {
    KILN_CHECK(C <= 0x7fffffff, ValueError, "batch_norm_backward: ", C, " channels is too many");
    bn_eval_grad_params_kernel<T, P><<<static_cast<unsigned>(C), kThreads, 0, stream>>>(
        static_cast<const T*>(gy), static_cast<const T*>(x), static_cast<const P*>(mean),
        static_cast<const P*>(invstd), static_cast<P*>(gw), static_cast<P*>(gb), N, C, HW);
    KILN_CHECK_LAUNCH("batch_norm_eval_grad_params", stream);
  }
}

}  // namespace

void launch_batch_norm_eval_bwd(const void* gy, const void* x, const void* weight, const void* mean,
                                const void* invstd, void* gx, void* gw, void* gb, DType dtype, int64_t N,
                                int64_t C, int64_t HW, cudaStream_t stream) {
  KILN_NVTX_RANGE("batch_norm_bwd");
  visit_floating(dtype, "batch_norm_eval_bwd", [&](auto tag) {
    launch_typed<decltype(tag)>(gy, x, weight, mean, invstd, gx, gw, gb, N, C, HW, stream);
  });
}

}  // namespace kiln::kernels
