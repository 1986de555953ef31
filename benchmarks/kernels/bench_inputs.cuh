// Typed pieces the f32/bf16 playgrounds share: each dtype's label and its
// kiln and cuDNN enums, a device buffer read back as doubles for the f64
// references, and the inputs' pseudo-random numbers. Header-only; included
// after kernel_bench.cuh by one .cu each.
#pragma once
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstdint>
#include <vector>

#include "kernel_bench.cuh"
#include "kiln/core/dtype.h"
#include "kiln/core/half.h"

namespace bench {

template <class T> const char* dtype_label();
template <> inline const char* dtype_label<float>() { return "f32"; }
template <> inline const char* dtype_label<kiln::BFloat16>() { return "bf16"; }

template <class T> kiln::DType kiln_dtype();
template <> inline kiln::DType kiln_dtype<float>() { return kiln::kFloat32; }
template <> inline kiln::DType kiln_dtype<kiln::BFloat16>() { return kiln::kBFloat16; }

template <class T> cudnnDataType_t cudnn_dtype();
template <> inline cudnnDataType_t cudnn_dtype<float>() { return CUDNN_DATA_FLOAT; }
template <> inline cudnnDataType_t cudnn_dtype<kiln::BFloat16>() { return CUDNN_DATA_BFLOAT16; }

// `n` elements of a device buffer, each widened to double (through float, as
// the kernels' bf16 values are compared with the f64 reference).
template <class T>
std::vector<double> to_double(const T* device, int64_t n) {
  std::vector<T> h(n);
  BENCH_CUDA(cudaMemcpy(h.data(), device, n * sizeof(T), cudaMemcpyDeviceToHost));
  std::vector<double> d(n);
  for (int64_t i = 0; i < n; ++i) d[i] = static_cast<float>(h[i]);
  return d;
}

// A 64-bit linear congruential generator (Knuth's MMIX constants): the same
// inputs on every machine and every run, so a figure can be compared with an
// earlier one. 24 high bits make each float.
class Lcg {
 public:
  explicit Lcg(uint64_t seed) : state_(seed) {}
  // Uniform in [0, 1).
  float next() {
    state_ = state_ * 6364136223846793005ull + 1442695040888963407ull;
    return static_cast<float>((state_ >> 40) * (1.0 / 16777216.0));
  }
  // Uniform in [lo, hi).
  float uniform(float lo, float hi) { return next() * (hi - lo) + lo; }

 private:
  uint64_t state_;
};

}  // namespace bench
