// Softmax playground: forward softmax over the last dim of [rows, n], f32
// and bf16, shapes for each path of kernels/softmax.cu: short rows (warp per
// row), a GPT-2 vocabulary row (block per row), many tiny rows.
//
// Versions, all validated against a host f64 reference before timing:
//   naive   one thread per row: max pass, sum pass, write pass (llm.c v1)
//   kiln    the production launcher kernels::launch_softmax_fwd
//           (online max/sum, warp or block per row)
//   cudnn   cudnnSoftmaxForward(CUDNN_SOFTMAX_ACCURATE, CUDNN_SOFTMAX_MODE_INSTANCE)
// GB/s = 2 * rows * n * sizeof(T) / (ms * 1e6) (x read once, y written
// once: the minimum traffic); pct_of_ceiling against the measured cudaMemcpy
// device-to-device rate; ratio_vs_ref = cudnn ms / version ms.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_inputs.cuh"
#include "kernel_bench.cuh"
#include "kernels.h"
#include "kiln/core/half.h"

namespace {

using kiln::BFloat16;
namespace kk = kiln::kernels;

template <class T>
__global__ void naive_softmax(const T* x, T* y, int64_t rows, int64_t n) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const T* xr = x + r * n;
  float m = -INFINITY, s = 0;
  for (int64_t k = 0; k < n; ++k) m = fmaxf(m, static_cast<float>(xr[k]));
  for (int64_t k = 0; k < n; ++k) s += expf(static_cast<float>(xr[k]) - m);
  for (int64_t k = 0; k < n; ++k) y[r * n + k] = static_cast<T>(expf(static_cast<float>(xr[k]) - m) / s);
}


template <class T>
void bench_shape(bench::Report& report, cudnnHandle_t handle, int64_t rows, int64_t n) {
  const int64_t total = rows * n;
  std::vector<T> hx(total);
  std::vector<double> xr(total);
  bench::Lcg rng(7);
  for (int64_t i = 0; i < total; ++i) {
    hx[i] = static_cast<T>(rng.uniform(-5.0f, 5.0f));
    xr[i] = static_cast<float>(hx[i]);
  }
  std::vector<double> want(total);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < n; ++k) m = std::max(m, xr[r * n + k]);
    for (int64_t k = 0; k < n; ++k) sum += std::exp(xr[r * n + k] - m);
    for (int64_t k = 0; k < n; ++k) want[r * n + k] = std::exp(xr[r * n + k] - m) / sum;
  }
  T *x = nullptr, *y = nullptr;
  BENCH_CUDA(cudaMalloc(&x, total * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&y, total * sizeof(T)));
  BENCH_CUDA(cudaMemcpy(x, hx.data(), total * sizeof(T), cudaMemcpyHostToDevice));

  cudnnTensorDescriptor_t desc;
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&desc));
  const bool cudnn_ok =
      BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, bench::cudnn_dtype<T>(), (int)rows, (int)n, 1, 1));
  const float one = 1.0f, zero = 0.0f;

  struct Version {
    std::string name;
    std::function<void()> run;
  };
  std::vector<Version> versions = {
      {"naive", [&] { naive_softmax<T><<<(unsigned)((rows + 255) / 256), 256>>>(x, y, rows, n); }},
      {"kiln", [&] { kk::launch_softmax_fwd(x, y, bench::kiln_dtype<T>(), rows, n, 1, false, nullptr); }},
  };
  if (cudnn_ok)
    versions.push_back({"cudnn", [&] {
                          if (!BENCH_CUDNN_OK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_ACCURATE,
                                                                  CUDNN_SOFTMAX_MODE_INSTANCE, &one, desc, x, &zero,
                                                                  desc, y)))
                            std::fprintf(stderr, "# cudnnSoftmaxForward refused %s\n", bench::dtype_label<T>());
                        }});
  const std::string shape = "[" + std::to_string(rows) + ", " + std::to_string(n) + "]";
  const double tol = sizeof(T) == 4 ? 1e-5 : 1e-2;
  for (const Version& v : versions) {
    BENCH_CUDA(cudaMemset(y, 0xff, total * sizeof(T)));  // NaN poison
    v.run();
    BENCH_CUDA(cudaDeviceSynchronize());
    std::vector<T> got(total);
    BENCH_CUDA(cudaMemcpy(got.data(), y, total * sizeof(T), cudaMemcpyDeviceToHost));
    std::vector<double> gd(total);
    for (int64_t i = 0; i < total; ++i) gd[i] = static_cast<float>(got[i]);
    if (!bench::validate((shape + "/" + v.name).c_str(), gd, want, tol, 1e-6)) continue;
    report.add(v.name, shape, bench::dtype_label<T>(), bench::median_ms(v.run, v.name == "naive" ? 5 : bench::kRuns),
               2.0 * total * sizeof(T));
  }
  report.set_reference(shape, bench::dtype_label<T>(), "cudnn");
  cudnnDestroyTensorDescriptor(desc);
  BENCH_CUDA(cudaFree(x));
  BENCH_CUDA(cudaFree(y));
}

}  // namespace

int main() {
  if (!bench::gpu_present()) {
    std::printf("# bench_softmax: skipped: no CUDA device\n");
    return 0;
  }
  bench::Report report("softmax");
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  const int64_t shapes[][2] = {{32768, 1024}, {4096, 50257}, {1 << 20, 32}};
  for (const auto& sh : shapes) {
    bench_shape<float>(report, handle, sh[0], sh[1]);
    bench_shape<BFloat16>(report, handle, sh[0], sh[1]);
  }
  cudnnDestroy(handle);
  report.print();
  return 0;
}
