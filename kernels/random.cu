// Random fills from Philox 4x32-10 (kernels/functors/philox.h).
//
// Shapes: contiguous out of n elements, any dtype. Element i reads Philox
// counter block offset + i / 2, lanes 2 * (i % 2) and 2 * (i % 2) + 1 --
// the CPU backend's numbering -- so the same (seed, offset) gives the same
// tensor on every device. Each thread computes one block and writes the two
// elements it feeds (2t and 2t + 1). Overwrites out.
// Precision: the CPU's arithmetic is reproduced without FMA contraction
// (__fadd_rn / __fmul_rn / __dadd_rn / __dmul_rn), so uniform and randint
// are bit-identical to the CPU; normal uses the CUDA math library's log/cos
// in f64, which may differ from glibc's by an ulp before the final rounding.
#include <type_traits>

#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "functors/philox.h"
#include "random.h"

namespace kiln::kernels {

namespace {

struct UniformValue {
  double low, range;        // f64 outputs
  float low_f, range_f;     // every other dtype: the CPU computes in f32
  template <class T> __device__ T operator()(functors::PhiloxPair p) const {
    if constexpr (std::is_same_v<T, double>) {
      return __dadd_rn(low, __dmul_rn(range, functors::uniform_double(p)));
    } else {
      return static_cast<T>(__fadd_rn(low_f, __fmul_rn(range_f, functors::uniform_float(p))));
    }
  }
};

struct NormalValue {
  double mean, std;
  template <class T> __device__ T operator()(functors::PhiloxPair p) const {
    return static_cast<T>(static_cast<opmath_t<T>>(__dadd_rn(mean, __dmul_rn(std, functors::normal_double(p)))));
  }
};

struct RandintValue {
  int64_t low;
  uint64_t range;
  template <class T> __device__ T operator()(functors::PhiloxPair p) const {
    return static_cast<T>(static_cast<opmath_t<T>>(functors::randint_value(p, low, range)));
  }
};

template <class T, class Value>
__global__ void philox_fill_kernel(T* __restrict__ out, int64_t n, uint64_t seed, uint64_t offset, Value value) {
  const int64_t pairs = (n + 1) / 2;
  for (int64_t t = global_thread(); t < pairs; t += grid_threads()) {
    const functors::PhiloxBlock blk = functors::philox4x32_10(seed, offset + static_cast<uint64_t>(t));
    const int64_t i = 2 * t;
    out[i] = value.template operator()<T>(functors::PhiloxPair{blk.v[0], blk.v[1]});
    if (i + 1 < n) out[i + 1] = value.template operator()<T>(functors::PhiloxPair{blk.v[2], blk.v[3]});
  }
}

template <class Value>
void launch_philox(const char* name, void* out, DType dtype, int64_t n, uint64_t seed, uint64_t offset, Value value,
                   cudaStream_t stream) {
  if (n == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    philox_fill_kernel<T, Value><<<grid_for((n + 1) / 2, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out), n,
                                                                                          seed, offset, value);
    KILN_CHECK_LAUNCH(name, stream);
  });
}

}  // namespace

void launch_uniform(void* out, DType dtype, int64_t n, double low, double high, uint64_t seed, uint64_t offset,
                    cudaStream_t stream) {
  KILN_NVTX_RANGE("uniform");
  const UniformValue v{low, high - low, static_cast<float>(low), static_cast<float>(high - low)};
  launch_philox("uniform", out, dtype, n, seed, offset, v, stream);
}

void launch_normal(void* out, DType dtype, int64_t n, double mean, double std, uint64_t seed, uint64_t offset,
                   cudaStream_t stream) {
  KILN_NVTX_RANGE("normal");
  launch_philox("normal", out, dtype, n, seed, offset, NormalValue{mean, std}, stream);
}

void launch_randint(void* out, DType dtype, int64_t n, int64_t low, int64_t high, uint64_t seed, uint64_t offset,
                    cudaStream_t stream) {
  KILN_NVTX_RANGE("randint");
  if (high <= low) throw ValueError(detail::str_cat("randint: empty range [", low, ", ", high, ")"));
  launch_philox("randint", out, dtype, n, seed, offset,
                RandintValue{low, static_cast<uint64_t>(high) - static_cast<uint64_t>(low)}, stream);
}

}  // namespace kiln::kernels
