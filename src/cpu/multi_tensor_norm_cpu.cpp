// CpuBackend::multi_tensor_norm: per tensor, the L2 norm over its finite
// elements and the count of NaN/inf ones. Each tensor is cut into chunks of
// kChunk elements; OpenMP spreads the chunks over threads, each chunk is
// summed in order in double, and the chunk sums are added in order, so the
// result is the same for any number of threads (the CUDA kernel uses the
// same chunking, kernels/multi_tensor_norm.cu).
#include <cmath>
#include <vector>

#include "core/tensor_impl.h"
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"

namespace kiln::cpu {

namespace {
constexpr int64_t kChunk = 65536;

template <class T>
void norm_of(const T* x, int64_t n, double* out) {
  const int64_t chunks = (n + kChunk - 1) / kChunk;
  std::vector<double> sums(static_cast<size_t>(chunks)), counts(static_cast<size_t>(chunks));
#pragma omp parallel for schedule(static) if (n >= kParallelGrain)
  for (int64_t c = 0; c < chunks; ++c) {
    double s = 0, bad = 0;
    const int64_t end = std::min(n, (c + 1) * kChunk);
    for (int64_t i = c * kChunk; i < end; ++i) {
      const double v = static_cast<double>(static_cast<opmath_t<T>>(x[i]));
      if (std::isfinite(v)) s += v * v;
      else bad += 1;
    }
    sums[static_cast<size_t>(c)] = s;
    counts[static_cast<size_t>(c)] = bad;
  }
  double s = 0, bad = 0;
  for (int64_t c = 0; c < chunks; ++c) {
    s += sums[static_cast<size_t>(c)];
    bad += counts[static_cast<size_t>(c)];
  }
  out[0] = std::sqrt(s);
  out[1] = bad;
}
}  // namespace

void CpuBackend::multi_tensor_norm(const std::vector<Tensor>& tensors, Tensor& out) {
  double* o = static_cast<double*>(out.raw_data_ptr());
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    visit_floating(t.dtype(), "multi_tensor_norm", [&](auto tag) {
      using T = decltype(tag);
      norm_of(static_cast<const T*>(t.raw_data_ptr()), t.numel(), o + 2 * i);
    });
  }
}

}  // namespace kiln::cpu
