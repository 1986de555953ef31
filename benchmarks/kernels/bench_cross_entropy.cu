// Cross-entropy playground: the fused forward (per-row loss and logsumexp,
// target checks included) and backward of kernels/cross_entropy.cu, the
// production launchers, on a classifier head, a GPT-2 vocabulary and many
// tiny rows, in f32 and bf16.
//
// Versions, validated against a host f64 reference before timing:
//   naive        forward, one thread per row: max pass, sum pass, loss (llm.c v1)
//   kiln         kernels::launch_cross_entropy_fwd (online max/sum, warp or block per row)
//   cudnn+gather cudnnSoftmaxForward(LOG) then a gather of -logp[target]: what an
//                unfused framework does (and the [rows, C] log-probabilities it writes)
//   kiln_bwd     kernels::launch_cross_entropy_bwd (softmax recomputed from lse)
// GB/s = bytes / (ms * 1e6) with bytes the minimum traffic: forward reads the
// logits once (rows * C * sizeof(T)); backward reads them and writes the
// gradient (2 * rows * C * sizeof(T)). ratio_vs_ref = cudnn+gather ms / ms.
// Usage: bench_cross_entropy [--quick]   (--quick: first shape only)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "cross_entropy.h"
#include "bench_inputs.cuh"
#include "kernel_bench.cuh"
#include "kiln/core/half.h"

namespace {

using kiln::BFloat16;
namespace kk = kiln::kernels;

template <class T>
__global__ void naive_cross_entropy(const T* x, const int64_t* target, T* loss, int64_t rows, int64_t C) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const T* xr = x + r * C;
  float m = -INFINITY, s = 0;
  for (int64_t k = 0; k < C; ++k) m = fmaxf(m, static_cast<float>(xr[k]));
  for (int64_t k = 0; k < C; ++k) s += expf(static_cast<float>(xr[k]) - m);
  loss[r] = static_cast<T>(logf(s) + m - static_cast<float>(xr[target[r]]));
}

template <class T>
__global__ void gather_nll(const T* logp, const int64_t* target, T* loss, int64_t rows, int64_t C) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r < rows) loss[r] = static_cast<T>(-static_cast<float>(logp[r * C + target[r]]));
}



template <class T>
void bench_shape(bench::Report& report, cudnnHandle_t handle, int64_t rows, int64_t C) {
  const int64_t total = rows * C;
  std::vector<T> hx(total);
  std::vector<int64_t> ht(rows);
  bench::Lcg rng(11);
  for (int64_t i = 0; i < total; ++i) hx[i] = static_cast<T>(rng.uniform(-4.0f, 4.0f));
  for (int64_t r = 0; r < rows; ++r) ht[r] = (r * 7919) % C;
  // f64 reference: per-row loss, and the gradient of sum(loss) (= softmax - onehot).
  std::vector<double> want_loss(rows), want_grad(total), lse(rows);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, sum = 0;
    for (int64_t k = 0; k < C; ++k) m = std::max(m, static_cast<double>(static_cast<float>(hx[r * C + k])));
    for (int64_t k = 0; k < C; ++k) sum += std::exp(static_cast<float>(hx[r * C + k]) - m);
    lse[r] = std::log(sum) + m;
    want_loss[r] = lse[r] - static_cast<float>(hx[r * C + ht[r]]);
    for (int64_t k = 0; k < C; ++k)
      want_grad[r * C + k] = std::exp(static_cast<float>(hx[r * C + k]) - lse[r]) - (k == ht[r] ? 1.0 : 0.0);
  }
  T *x = nullptr, *loss = nullptr, *logp = nullptr, *grad = nullptr, *ones = nullptr;
  float* d_lse = nullptr;
  int64_t *target = nullptr, *errors = nullptr;
  BENCH_CUDA(cudaMalloc(&x, total * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&logp, total * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&grad, total * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&loss, rows * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&ones, rows * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&d_lse, rows * sizeof(float)));
  BENCH_CUDA(cudaMalloc(&target, rows * sizeof(int64_t)));
  BENCH_CUDA(cudaMalloc(&errors, 2 * sizeof(int64_t)));
  BENCH_CUDA(cudaMemcpy(x, hx.data(), total * sizeof(T), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(target, ht.data(), rows * sizeof(int64_t), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemset(errors, 0, 2 * sizeof(int64_t)));
  {
    const std::vector<T> h1(rows, static_cast<T>(1.0f));
    BENCH_CUDA(cudaMemcpy(ones, h1.data(), rows * sizeof(T), cudaMemcpyHostToDevice));
  }
  cudnnTensorDescriptor_t desc;
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&desc));
  const bool cudnn_ok =
      BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(desc, CUDNN_TENSOR_NCHW, bench::cudnn_dtype<T>(), (int)rows, (int)C, 1, 1));
  const float one = 1.0f, zero = 0.0f;
  const unsigned row_blocks = static_cast<unsigned>((rows + 255) / 256);

  struct Version {
    std::string name;
    std::function<void()> run;
    bool backward;
  };
  std::vector<Version> versions = {
      {"naive", [&] { naive_cross_entropy<T><<<row_blocks, 256>>>(x, target, loss, rows, C); }, false},
      {"kiln",
       [&] {
         kk::launch_cross_entropy_fwd(x, target, loss, d_lse, errors, bench::kiln_dtype<T>(), rows, C, -100, 0.0, nullptr);
       },
       false},
  };
  if (cudnn_ok)
    versions.push_back({"cudnn+gather",
                        [&] {
                          if (!BENCH_CUDNN_OK(cudnnSoftmaxForward(handle, CUDNN_SOFTMAX_LOG, CUDNN_SOFTMAX_MODE_INSTANCE,
                                                                  &one, desc, x, &zero, desc, logp)))
                            std::fprintf(stderr, "# cudnnSoftmaxForward refused %s\n", bench::dtype_label<T>());
                          gather_nll<T><<<row_blocks, 256>>>(logp, target, loss, rows, C);
                        },
                        false});
  versions.push_back({"kiln_bwd",
                      [&] {
                        kk::launch_cross_entropy_bwd(ones, x, target, d_lse, grad, bench::kiln_dtype<T>(), rows, C, -100, 0.0,
                                                     nullptr);
                      },
                      true});
  const std::string shape = "[" + std::to_string(rows) + ", " + std::to_string(C) + "]";
  const double tol = sizeof(T) == 4 ? 1e-4 : 3e-2;
  for (const Version& v : versions) {
    if (v.backward) {
      // The backward reads lse from the kiln forward.
      kk::launch_cross_entropy_fwd(x, target, loss, d_lse, errors, bench::kiln_dtype<T>(), rows, C, -100, 0.0, nullptr);
      BENCH_CUDA(cudaMemset(grad, 0xff, total * sizeof(T)));
    } else {
      BENCH_CUDA(cudaMemset(loss, 0xff, rows * sizeof(T)));  // NaN poison
    }
    v.run();
    BENCH_CUDA(cudaDeviceSynchronize());
    const std::string what = shape + "/" + v.name;
    const bool valid = v.backward ? bench::validate(what.c_str(), bench::to_double(grad, total), want_grad, tol, tol)
                                  : bench::validate(what.c_str(), bench::to_double(loss, rows), want_loss, tol, tol);
    if (!valid) continue;
    const double bytes = (v.backward ? 2.0 : 1.0) * total * sizeof(T);
    report.add(v.name, shape, bench::dtype_label<T>(), bench::median_ms(v.run, v.name == "naive" ? 5 : bench::kRuns), bytes);
  }
  int64_t flagged[2] = {0, 0};
  BENCH_CUDA(cudaMemcpy(flagged, errors, sizeof flagged, cudaMemcpyDeviceToHost));
  if (flagged[0] != 0)
    std::fprintf(stderr, "# %s: %lld targets flagged out of range\n", shape.c_str(), static_cast<long long>(flagged[0]));
  report.set_reference(shape, bench::dtype_label<T>(), "cudnn+gather");
  cudnnDestroyTensorDescriptor(desc);
  for (void* p : {static_cast<void*>(x), static_cast<void*>(logp), static_cast<void*>(grad), static_cast<void*>(loss),
                  static_cast<void*>(ones), static_cast<void*>(d_lse), static_cast<void*>(target),
                  static_cast<void*>(errors)})
    BENCH_CUDA(cudaFree(p));
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (!bench::gpu_present()) {
    std::printf("# bench_cross_entropy: skipped: no CUDA device\n");
    return 0;
  }
  bench::Report report("cross_entropy");
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  const int64_t shapes[][2] = {{8192, 1000}, {1024, 50257}, {1 << 18, 10}};
  for (const auto& sh : shapes) {
    bench_shape<float>(report, handle, sh[0], sh[1]);
    bench_shape<BFloat16>(report, handle, sh[0], sh[1]);
    if (quick) break;
  }
  cudnnDestroy(handle);
  report.print();
  return 0;
}
