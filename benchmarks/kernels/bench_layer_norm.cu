// Layer-norm playground: kiln's fused layer norm forward and backward
// (kernels/layer_norm.cu) on [rows, n] with weight and bias, f32 and bf16,
// at GPT-2 widths (768, 1600) and a wide row (4096).
//
// Versions, validated against a host f64 reference before timing:
//   naive     forward, one thread per row (three passes)
//   kiln      launch_layer_norm_fwd (warp per row)
//   kiln_bwd  launch_layer_norm_bwd (gx, gw, gb: block per row, per-block
//             partials in shared memory, a second kernel adds them in order)
// GB/s counts the minimum traffic: forward reads x and writes y (2 rows * n
// elements), backward reads gy and x and writes gx (3); pct_of_ceiling
// against the measured cudaMemcpy device-to-device rate. The PyTorch peer
// (torch_attention_layer_norm.py beside this file) prints the same lines
// for torch.nn.functional.layer_norm.
// Environment: KILN_BENCH_QUICK=1 (one shape per dtype), KILN_GIT_COMMIT.
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
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
__global__ void naive_layer_norm(const T* x, const T* w, const T* b, T* y, int64_t rows, int64_t n) {
  const int64_t r = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (r >= rows) return;
  const T* xr = x + r * n;
  float m = 0, v = 0;
  for (int64_t i = 0; i < n; ++i) m += static_cast<float>(xr[i]);
  m /= n;
  for (int64_t i = 0; i < n; ++i) v += (static_cast<float>(xr[i]) - m) * (static_cast<float>(xr[i]) - m);
  const float s = rsqrtf(v / n + 1e-5f);
  for (int64_t i = 0; i < n; ++i)
    y[r * n + i] = static_cast<T>((static_cast<float>(xr[i]) - m) * s * static_cast<float>(w[i]) + static_cast<float>(b[i]));
}



template <class T>
void bench_shape(bench::Report& report, int64_t rows, int64_t n) {
  const int64_t total = rows * n;
  std::vector<T> hx(total), hg(total), hw(n), hb(n);
  bench::Lcg rng(5);
  auto next = [&rng] { return rng.uniform(-2.0f, 2.0f); };
  for (auto& v : hx) v = static_cast<T>(next());
  for (auto& v : hg) v = static_cast<T>(next());
  for (auto& v : hw) v = static_cast<T>(next());
  for (auto& v : hb) v = static_cast<T>(next());
  // f64 reference: y, and gx from gy (llm.c's formula, with w).
  std::vector<double> want_y(total), want_gx(total);
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, v = 0;
    for (int64_t i = 0; i < n; ++i) m += static_cast<float>(hx[r * n + i]);
    m /= n;
    for (int64_t i = 0; i < n; ++i) v += std::pow(static_cast<float>(hx[r * n + i]) - m, 2);
    const double rs = 1.0 / std::sqrt(v / n + 1e-5);
    double md = 0, mdx = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double xh = (static_cast<float>(hx[r * n + i]) - m) * rs;
      const double d = static_cast<float>(hg[r * n + i]) * static_cast<float>(hw[i]);
      want_y[r * n + i] = xh * static_cast<float>(hw[i]) + static_cast<float>(hb[i]);
      md += d;
      mdx += d * xh;
    }
    md /= n;
    mdx /= n;
    for (int64_t i = 0; i < n; ++i) {
      const double xh = (static_cast<float>(hx[r * n + i]) - m) * rs;
      const double d = static_cast<float>(hg[r * n + i]) * static_cast<float>(hw[i]);
      want_gx[r * n + i] = (d - md - xh * mdx) * rs;
    }
  }
  T *x, *y, *w, *b, *gy, *gx, *gw, *gb;
  float *mean, *rstd;
  for (T** p : {&x, &y, &gy, &gx}) BENCH_CUDA(cudaMalloc(p, total * sizeof(T)));
  for (T** p : {&w, &b, &gw, &gb}) BENCH_CUDA(cudaMalloc(p, n * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&mean, rows * sizeof(float)));
  BENCH_CUDA(cudaMalloc(&rstd, rows * sizeof(float)));
  BENCH_CUDA(cudaMemcpy(x, hx.data(), total * sizeof(T), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(gy, hg.data(), total * sizeof(T), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(w, hw.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(b, hb.data(), n * sizeof(T), cudaMemcpyHostToDevice));
  const size_t ws_bytes = kk::layer_norm_bwd_workspace_bytes(bench::kiln_dtype<T>(), rows, n, true, true);
  void* ws = nullptr;
  BENCH_CUDA(cudaMalloc(&ws, std::max<size_t>(ws_bytes, 1)));
  const std::string shape = "[" + std::to_string(rows) + ", " + std::to_string(n) + "]";
  const double tol = sizeof(T) == 4 ? 1e-4 : 3e-2;

  auto naive = [&] { naive_layer_norm<T><<<(unsigned)((rows + 255) / 256), 256>>>(x, w, b, y, rows, n); };
  auto fwd = [&] {
    kk::launch_layer_norm_fwd(x, w, b, y, mean, rstd, bench::kiln_dtype<T>(), rows, n, 1e-5, false, nullptr);
  };
  auto bwd = [&] {
    kk::launch_layer_norm_bwd(gy, x, w, mean, rstd, gx, gw, gb, ws, bench::kiln_dtype<T>(), rows, n, false, nullptr);
  };
  for (auto& [name, f] : std::vector<std::pair<std::string, std::function<void()>>>{{"naive", naive}, {"kiln", fwd}}) {
    BENCH_CUDA(cudaMemset(y, 0xff, total * sizeof(T)));
    f();
    BENCH_CUDA(cudaDeviceSynchronize());
    if (!bench::validate((shape + "/" + name).c_str(), bench::to_double(y, total), want_y, tol, tol)) continue;
    report.add(name, shape, bench::dtype_label<T>(), bench::median_ms(f, name == "naive" ? 5 : bench::kRuns),
               2.0 * total * sizeof(T));
  }
  fwd();  // mean and rstd for the backward
  BENCH_CUDA(cudaMemset(gx, 0xff, total * sizeof(T)));
  bwd();
  BENCH_CUDA(cudaDeviceSynchronize());
  if (bench::validate((shape + "/kiln_bwd").c_str(), bench::to_double(gx, total), want_gx, tol, tol))
    report.add("kiln_bwd", shape, bench::dtype_label<T>(), bench::median_ms(bwd), 3.0 * total * sizeof(T));
  report.set_reference(shape, bench::dtype_label<T>(), "naive");
  for (T* p : {x, y, w, b, gy, gx, gw, gb}) cudaFree(p);
  cudaFree(mean);
  cudaFree(rstd);
  cudaFree(ws);
}

}  // namespace

int main() {
  if (!bench::gpu_present()) {
    std::printf("# bench_layer_norm: skipped: no CUDA device\n");
    return 0;
  }
  const char* q = std::getenv("KILN_BENCH_QUICK");
  const bool quick = q && *q && std::string(q) != "0";
  bench::Report report("layer_norm");
  std::vector<std::pair<int64_t, int64_t>> shapes = {{8192, 768}, {8192, 1600}, {4096, 4096}};
  if (quick) shapes = {{8192, 768}};
  for (const auto& [rows, n] : shapes) {
    bench_shape<float>(report, rows, n);
    bench_shape<BFloat16>(report, rows, n);
  }
  report.print();
  std::printf("\n(vs cuDNN column: ratio against the naive kernel here; cuDNN has no layer norm call used)\n");
  return 0;
}
