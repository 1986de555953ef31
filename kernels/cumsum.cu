// Running sums along one dim: one thread per line (outer * inner lines),
// each walking its n elements in order with an f64 (floating) or int64
// (integer) accumulator, exactly the CPU's arithmetic (src/cpu/cumsum_cpu.cpp),
// so results agree bit for bit. Neighbouring threads take neighbouring
// inner positions, so loads coalesce when inner > 1; for inner = 1 the
// parallelism is one thread per row (a row scan would be faster for few,
// long rows).
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "cumsum.h"

namespace kiln::kernels {

namespace {

template <class T>
__global__ void cumsum_kernel(const T* __restrict__ x, T* __restrict__ y, int64_t outer, int64_t n, int64_t inner,
                              bool reverse) {
  using Op = opmath_t<T>;
  using Acc = std::conditional_t<std::is_floating_point_v<Op>, double, int64_t>;
  for (int64_t line = global_thread(); line < outer * inner; line += grid_threads()) {
    const int64_t base = (line / inner) * n * inner + line % inner;
    Acc acc = 0;
    for (int64_t step = 0; step < n; ++step) {
      const int64_t k = reverse ? n - 1 - step : step;
      const int64_t j = base + k * inner;
      acc = acc + static_cast<Acc>(static_cast<Op>(x[j]));
      if constexpr (std::is_floating_point_v<Acc>) y[j] = static_cast<T>(static_cast<Op>(acc));
      else y[j] = from_op<T>(acc);
    }
  }
}

}  // namespace

void launch_cumsum(const void* x, void* y, DType dtype, int64_t outer, int64_t n, int64_t inner, bool reverse,
                   cudaStream_t stream) {
  const char* name = "cumsum";
  KILN_NVTX_RANGE(name);
  if (outer * n * inner == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    cumsum_kernel<T><<<grid_for(outer * inner, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(x), static_cast<T*>(y), outer, n, inner, reverse);
    KILN_CHECK_LAUNCH(name, stream);
  });
}

}  // namespace kiln::kernels
