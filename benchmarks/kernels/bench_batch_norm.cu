// Batch-norm playground. The CUDA backend runs batch norm through cuDNN
// (training forward, inference forward, training backward) and one kiln
// kernel, the eval-mode backward that cuDNN lacks (kernels/batch_norm.cu,
// the production launcher). This times that kernel against a naive one and
// puts cuDNN's training forward and backward on the same shapes next to it,
// in f32 and bf16 data (f32 statistics).
//
// Versions, validated against a host f64 reference before timing (the kiln
// and naive eval backward: gx, gw, gb):
//   naive         one thread per element for gx, one thread per channel for gw/gb
//   kiln          kernels::launch_batch_norm_eval_bwd (grid-stride gx, a block per channel for gw/gb)
//   cudnn_fwd     cudnnBatchNormalizationForwardTraining (not compared: a different op, for scale)
//   cudnn_bwd     cudnnBatchNormalizationBackward (training backward, for scale)
// GB/s = bytes / (ms * 1e6): eval backward reads gy and x and writes gx (3
// tensors); cuDNN's forward reads x and writes y (2), its backward reads x
// and gy and writes gx (3). ratio_vs_ref = cudnn_bwd ms / ms.
// Usage: bench_batch_norm [--quick]   (--quick: first shape only)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "batch_norm.h"
#include "bench_inputs.cuh"
#include "kernel_bench.cuh"
#include "kiln/core/half.h"

namespace {

using kiln::BFloat16;
namespace kk = kiln::kernels;

template <class T>
__global__ void naive_eval_grad_input(const T* gy, const float* w, const float* invstd, T* gx, int64_t C, int64_t HW,
                                      int64_t total) {
  const int64_t i = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (i >= total) return;
  const int64_t c = (i / HW) % C;
  gx[i] = static_cast<T>(static_cast<float>(gy[i]) * invstd[c] * w[c]);
}
template <class T>
__global__ void naive_eval_grad_params(const T* gy, const T* x, const float* mean, const float* invstd, float* gw,
                                       float* gb, int64_t N, int64_t C, int64_t HW) {
  const int64_t c = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (c >= C) return;
  float sg = 0, sgx = 0;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t j = 0; j < HW; ++j) {
      const float g = static_cast<float>(gy[(n * C + c) * HW + j]);
      sg += g;
      sgx += g * (static_cast<float>(x[(n * C + c) * HW + j]) - mean[c]);
    }
  gb[c] = sg;
  gw[c] = sgx * invstd[c];
}



template <class T>
void bench_shape(bench::Report& report, cudnnHandle_t handle, int N, int C, int H, int W) {
  const int64_t HW = int64_t(H) * W, total = int64_t(N) * C * HW;
  std::vector<T> hx(total), hgy(total);
  std::vector<float> hw(C), hmean(C), hinvstd(C);
  bench::Lcg rng(3);
  auto next = [&rng] { return rng.next(); };
  for (int64_t i = 0; i < total; ++i) {
    hx[i] = static_cast<T>(next() * 4.0f - 2.0f);
    hgy[i] = static_cast<T>(next() - 0.5f);
  }
  for (int c = 0; c < C; ++c) {
    hw[c] = next() + 0.5f;
    hmean[c] = next() - 0.5f;
    hinvstd[c] = next() + 0.5f;
  }
  std::vector<double> want_gx(total), want_gw(C, 0.0), want_gb(C, 0.0);
  for (int64_t i = 0; i < total; ++i) {
    const int64_t c = (i / HW) % C;
    const double g = static_cast<float>(hgy[i]);
    want_gx[i] = g * hinvstd[c] * hw[c];
    want_gb[c] += g;
    want_gw[c] += g * (static_cast<float>(hx[i]) - hmean[c]) * hinvstd[c];
  }
  T *x = nullptr, *gy = nullptr, *gx = nullptr, *y = nullptr;
  float *w = nullptr, *mean = nullptr, *invstd = nullptr, *gw = nullptr, *gb = nullptr, *b = nullptr, *sm = nullptr,
        *si = nullptr;
  for (T** p : {&x, &gy, &gx, &y}) BENCH_CUDA(cudaMalloc(p, total * sizeof(T)));
  for (float** p : {&w, &mean, &invstd, &gw, &gb, &b, &sm, &si}) BENCH_CUDA(cudaMalloc(p, C * sizeof(float)));
  BENCH_CUDA(cudaMemcpy(x, hx.data(), total * sizeof(T), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(gy, hgy.data(), total * sizeof(T), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(w, hw.data(), C * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(mean, hmean.data(), C * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(invstd, hinvstd.data(), C * sizeof(float), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemset(b, 0, C * sizeof(float)));

  const std::string shape = "N" + std::to_string(N) + "_C" + std::to_string(C) + "_H" + std::to_string(H) + "_W" +
                            std::to_string(W);
  const double tol = sizeof(T) == 4 ? 1e-4 : 2e-2;
  struct Version {
    std::string name;
    std::function<void()> run;
  };
  const std::vector<Version> eval_bwd = {
      {"naive",
       [&] {
         naive_eval_grad_input<T><<<(unsigned)((total + 255) / 256), 256>>>(gy, w, invstd, gx, C, HW, total);
         naive_eval_grad_params<T><<<(unsigned)((C + 255) / 256), 256>>>(gy, x, mean, invstd, gw, gb, N, C, HW);
       }},
      {"kiln",
       [&] { kk::launch_batch_norm_eval_bwd(gy, x, w, mean, invstd, gx, gw, gb, bench::kiln_dtype<T>(), N, C, HW, nullptr); }},
  };
  for (const Version& v : eval_bwd) {
    BENCH_CUDA(cudaMemset(gx, 0xff, total * sizeof(T)));
    BENCH_CUDA(cudaMemset(gw, 0xff, C * sizeof(float)));
    BENCH_CUDA(cudaMemset(gb, 0xff, C * sizeof(float)));
    v.run();
    BENCH_CUDA(cudaDeviceSynchronize());
    const std::string what = shape + "/" + v.name;
    // Per-channel sums of N*HW terms: a relative tolerance scaled by the term count.
    const double sum_tol = tol * std::sqrt(double(N) * HW);
    if (!bench::validate((what + "/gx").c_str(), bench::to_double(gx, total), want_gx, tol, tol) ||
        !bench::validate((what + "/gw").c_str(), bench::to_double(gw, C), want_gw, tol, sum_tol) ||
        !bench::validate((what + "/gb").c_str(), bench::to_double(gb, C), want_gb, tol, sum_tol))
      continue;
    report.add(v.name, shape, bench::dtype_label<T>(), bench::median_ms(v.run), 3.0 * total * sizeof(T));
  }
  // cuDNN's training forward and backward on the same data, for scale.
  cudnnTensorDescriptor_t xdesc, pdesc;
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&xdesc));
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&pdesc));
  const bool ok = BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(xdesc, CUDNN_TENSOR_NCHW, bench::cudnn_dtype<T>(), N, C, H, W)) &&
                  BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(pdesc, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, C, 1, 1));
  const float one = 1.0f, zero = 0.0f;
  if (ok) {
    auto fwd = [&] {
      return cudnnBatchNormalizationForwardTraining(handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, xdesc, x, xdesc, y,
                                                    pdesc, w, b, 0.1, nullptr, nullptr, 1e-5, sm, si);
    };
    auto bwd = [&] {
      return cudnnBatchNormalizationBackward(handle, CUDNN_BATCHNORM_SPATIAL, &one, &zero, &one, &zero, xdesc, x, xdesc,
                                             gy, xdesc, gx, pdesc, w, gw, gb, 1e-5, sm, si);
    };
    if (BENCH_CUDNN_OK(fwd()) && BENCH_CUDNN_OK(bwd())) {
      BENCH_CUDA(cudaDeviceSynchronize());
      report.add("cudnn_fwd", shape, bench::dtype_label<T>(), bench::median_ms([&] { fwd(); }), 2.0 * total * sizeof(T));
      report.add("cudnn_bwd", shape, bench::dtype_label<T>(), bench::median_ms([&] { bwd(); }), 3.0 * total * sizeof(T));
    } else {
      std::fprintf(stderr, "# %s: cuDNN's legacy batch norm refused %s data\n", shape.c_str(), bench::dtype_label<T>());
    }
  }
  report.set_reference(shape, bench::dtype_label<T>(), "cudnn_bwd");
  cudnnDestroyTensorDescriptor(xdesc);
  cudnnDestroyTensorDescriptor(pdesc);
  for (T* p : {x, gy, gx, y}) BENCH_CUDA(cudaFree(p));
  for (float* p : {w, mean, invstd, gw, gb, b, sm, si}) BENCH_CUDA(cudaFree(p));
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (!bench::gpu_present()) {
    std::printf("# bench_batch_norm: skipped: no CUDA device\n");
    return 0;
  }
  bench::Report report("batch_norm");
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  const int shapes[][4] = {{32, 64, 56, 56}, {32, 256, 14, 14}, {256, 16, 28, 28}};
  for (const auto& s : shapes) {
    bench_shape<float>(report, handle, s[0], s[1], s[2], s[3]);
    bench_shape<BFloat16>(report, handle, s[0], s[1], s[2], s[3]);
    if (quick) break;
  }
  cudnnDestroy(handle);
  report.print();
  return 0;
}
