// Attention playground: kiln's fused scaled dot-product attention forward
// and backward (kernels/attention.cu) in bf16, [B, H, T, D] with B = 1 and
// H = 4 * (4096 / T) * (64 / D) heads (32 at T = 512, D = 64; 2 at T = 4096,
// D = 128), T = 512..4096, D = 64 and 128,
// causal and not, beside the bf16 cuBLAS matmul ceiling measured in the
// same run (cublasGemmEx, bf16 in, f32 compute, 8192^3; 4096^3 in quick
// mode).
//
// Versions, each validated first (the output, or for the backward dQ, of
// 32 query rows of head 0 against a host f64 reference):
//   kiln          launch_attention_fwd (the tensor-core kernel for D = 64, 128)
//   kiln_general  the general kernel (set_attention_force_general), T <= 1024 only
//   kiln_bwd      launch_attention_bwd (the tensor-core backward for D = 64, 128)
//   kiln_bwd_general  the general backward, T <= 1024 only
// TFLOP/s counts 4 B H T^2 D for the forward and 10 B H T^2 D for the
// backward (2.5x), halved when causal (FlashAttention's convention);
// pct_of_ceiling = TFLOP/s / the cuBLAS bf16 ceiling. The PyTorch peer
// (torch_attention_layer_norm.py beside this file) prints the same lines
// for torch.nn.functional.scaled_dot_product_attention.
// Environment: KILN_BENCH_QUICK=1 (T = 512 and 2048 only, fewer runs),
// KILN_GIT_COMMIT.
#include <cublas_v2.h>

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

bool quick() {
  const char* v = std::getenv("KILN_BENCH_QUICK");
  return v && *v && std::string(v) != "0";
}

double matmul_ceiling_tflops(int64_t n) {
  cublasHandle_t h;
  BENCH_STATUS(cublasCreate(&h));
  void *a, *b, *c;
  const size_t bytes = static_cast<size_t>(n * n) * 2;
  BENCH_CUDA(cudaMalloc(&a, bytes));
  BENCH_CUDA(cudaMalloc(&b, bytes));
  BENCH_CUDA(cudaMalloc(&c, bytes));
  BENCH_CUDA(cudaMemset(a, 0, bytes));
  BENCH_CUDA(cudaMemset(b, 0, bytes));
  const float one = 1, zero = 0;
  const int ni = static_cast<int>(n);
  const double ms = bench::median_ms(
      [&] {
        BENCH_STATUS(cublasGemmEx(h, CUBLAS_OP_N, CUBLAS_OP_N, ni, ni, ni, &one, a, CUDA_R_16BF, ni, b, CUDA_R_16BF,
                                  ni, &zero, c, CUDA_R_16BF, ni, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
      },
      20);
  cudaFree(a);
  cudaFree(b);
  cudaFree(c);
  cublasDestroy(h);
  return 2.0 * n * n * n / (ms * 1e9);
}

struct Buffers {
  BFloat16 *q, *k, *v, *o, *go, *gq, *gk, *gv;
  float* lse;
  void* ws;
};

// Host f64 forward of rows [0, rows) of (b, h) = (0, 0).
std::vector<double> reference_rows(const std::vector<BFloat16>& q, const std::vector<BFloat16>& k,
                                   const std::vector<BFloat16>& v, int64_t T, int64_t D, int64_t rows, bool causal) {
  std::vector<double> out(rows * D, 0.0), s(T);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  for (int64_t i = 0; i < rows; ++i) {
    double m = -INFINITY, total = 0;
    const int64_t end = causal ? i + 1 : T;
    for (int64_t j = 0; j < end; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += static_cast<float>(q[i * D + d]) * static_cast<float>(k[j * D + d]);
      s[j] = dot * scale;
      m = std::max(m, s[j]);
    }
    for (int64_t j = 0; j < end; ++j) total += std::exp(s[j] - m);
    for (int64_t j = 0; j < end; ++j)
      for (int64_t d = 0; d < D; ++d) out[i * D + d] += std::exp(s[j] - m) / total * static_cast<float>(v[j * D + d]);
  }
  return out;
}

// Host f64 dQ of rows [0, rows) of (b, h) = (0, 0), from the gradient go of the output.
std::vector<double> reference_dq(const std::vector<BFloat16>& q, const std::vector<BFloat16>& k,
                                 const std::vector<BFloat16>& v, const std::vector<BFloat16>& go, int64_t T, int64_t D,
                                 int64_t rows, bool causal) {
  const std::vector<double> o = reference_rows(q, k, v, T, D, rows, causal);
  std::vector<double> dq(rows * D, 0.0), s(T);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));
  auto f = [](BFloat16 x) { return static_cast<double>(static_cast<float>(x)); };
  for (int64_t i = 0; i < rows; ++i) {
    const int64_t end = causal ? i + 1 : T;
    double m = -INFINITY, total = 0, delta = 0;
    for (int64_t d = 0; d < D; ++d) delta += f(go[i * D + d]) * o[i * D + d];
    for (int64_t j = 0; j < end; ++j) {
      double dot = 0;
      for (int64_t d = 0; d < D; ++d) dot += f(q[i * D + d]) * f(k[j * D + d]);
      s[j] = dot * scale;
      m = std::max(m, s[j]);
    }
    for (int64_t j = 0; j < end; ++j) total += std::exp(s[j] - m);
    for (int64_t j = 0; j < end; ++j) {
      double dp = 0;
      for (int64_t d = 0; d < D; ++d) dp += f(go[i * D + d]) * f(v[j * D + d]);
      const double ds = std::exp(s[j] - m) / total * (dp - delta);
      for (int64_t d = 0; d < D; ++d) dq[i * D + d] += scale * ds * f(k[j * D + d]);
    }
  }
  return dq;
}

void print(const std::string& version, const std::string& shape, double ms, double flops, double ceiling,
           const std::string& device, const std::string& commit) {
  bench::Result r;
  r.bench = "attention";
  r.version = version;
  r.shape = shape;
  r.dtype = "bf16";
  r.ms = ms;
  r.rate = flops / (ms * 1e9);
  r.unit = "TFLOP/s";
  r.pct_of_ceiling = 100.0 * r.rate / ceiling;
  bench::JsonFormat fmt;
  fmt.rate = 2;
  bench::print_json(r, device, commit, fmt);
  std::printf("| %s | %s | %.3f | %.2f | %.1f |\n", version.c_str(), shape.c_str(), ms, r.rate, r.pct_of_ceiling);
}

void bench_shape(int64_t T, int64_t D, bool causal, double ceiling, const std::string& device,
                 const std::string& commit) {
  const int64_t B = 1, H = std::max<int64_t>(1, 4 * (4096 / T) * 64 / D);
  const int64_t n = B * H * T * D;
  std::vector<BFloat16> hq(n), hk(n), hv(n), hgo(n);
  bench::Lcg rng(11);
  auto next = [&rng] { return rng.uniform(-1.0f, 1.0f); };
  for (int64_t i = 0; i < n; ++i) {
    hq[i] = BFloat16(next());
    hk[i] = BFloat16(next());
    hv[i] = BFloat16(next());
    hgo[i] = BFloat16(next());
  }
  kk::AttentionArgs a;
  a.B = B;
  a.H = H;
  a.Tq = a.Tk = T;
  a.D = a.Dv = D;
  a.scale = 1.0 / std::sqrt(static_cast<double>(D));
  a.causal = causal;
  Buffers b{};
  const size_t bytes = static_cast<size_t>(n) * sizeof(BFloat16);
  for (BFloat16** p : {&b.q, &b.k, &b.v, &b.o, &b.go, &b.gq, &b.gk, &b.gv}) BENCH_CUDA(cudaMalloc(p, bytes));
  BENCH_CUDA(cudaMalloc(&b.lse, static_cast<size_t>(B * H * T) * sizeof(float)));
  BENCH_CUDA(cudaMalloc(&b.ws, std::max<size_t>(1, kk::attention_bwd_workspace_bytes(a, kiln::kBFloat16))));
  BENCH_CUDA(cudaMemcpy(b.q, hq.data(), bytes, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(b.k, hk.data(), bytes, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(b.v, hv.data(), bytes, cudaMemcpyHostToDevice));
  BENCH_CUDA(cudaMemcpy(b.go, hgo.data(), bytes, cudaMemcpyHostToDevice));
  const std::string shape = "[" + std::to_string(B) + ", " + std::to_string(H) + ", " + std::to_string(T) + ", " +
                            std::to_string(D) + "]" + (causal ? " causal" : "");
  const double fwd_flops = 4.0 * B * H * T * T * D * (causal ? 0.5 : 1.0);
  const int64_t check_rows = 32;
  const std::vector<double> want = reference_rows(hq, hk, hv, T, D, check_rows, causal);
  auto fwd = [&] { kk::launch_attention_fwd(a, b.q, b.k, b.v, b.o, b.lse, kiln::kBFloat16, nullptr); };
  const std::vector<double> want_dq = reference_dq(hq, hk, hv, hgo, T, D, check_rows, causal);
  // The backward after a forward (it reads out and lse), checked on dQ's first rows.
  auto bwd_valid = [&](const char* what, const std::function<void()>& bwd) {
    fwd();
    BENCH_CUDA(cudaMemset(b.gq, 0xff, bytes));
    bwd();
    BENCH_CUDA(cudaDeviceSynchronize());
    std::vector<BFloat16> got(check_rows * D);
    BENCH_CUDA(cudaMemcpy(got.data(), b.gq, got.size() * sizeof(BFloat16), cudaMemcpyDeviceToHost));
    std::vector<double> gd(got.size());
    for (size_t i = 0; i < got.size(); ++i) gd[i] = static_cast<float>(got[i]);
    return bench::validate((shape + "/" + what).c_str(), gd, want_dq, 5e-2, 5e-2);
  };
  auto valid = [&](const char* what) {
    BENCH_CUDA(cudaMemset(b.o, 0xff, bytes));
    fwd();
    BENCH_CUDA(cudaDeviceSynchronize());
    std::vector<BFloat16> got(check_rows * D);
    BENCH_CUDA(cudaMemcpy(got.data(), b.o, got.size() * sizeof(BFloat16), cudaMemcpyDeviceToHost));
    std::vector<double> gd(got.size());
    for (size_t i = 0; i < got.size(); ++i) gd[i] = static_cast<float>(got[i]);
    return bench::validate((shape + "/" + what).c_str(), gd, want, 2e-2, 2e-2);
  };
  const int runs = quick() ? 10 : bench::kRuns;
  kk::set_attention_force_general(false);
  if (valid("kiln")) {
    print(std::string("kiln_") + kk::attention_fwd_kernel_name(a, kiln::kBFloat16, b.q, b.k, b.v, b.o), shape,
          bench::median_ms(fwd, runs), fwd_flops, ceiling, device, commit);
    // The backward reads the forward's out and lse, which are now in place.
    auto bwd = [&] {
      kk::launch_attention_bwd(a, b.go, b.q, b.k, b.v, b.o, b.lse, b.gq, b.gk, b.gv, b.ws, kiln::kBFloat16, nullptr);
    };
    if (bwd_valid("kiln_bwd", bwd))
      print("kiln_bwd", shape, bench::median_ms(bwd, quick() ? 3 : 10), 2.5 * fwd_flops, ceiling, device, commit);
  }
  if (T <= 1024) {
    kk::set_attention_force_general(true);
    if (valid("kiln_general")) {
      print("kiln_general", shape, bench::median_ms(fwd, quick() ? 3 : 10), fwd_flops, ceiling, device, commit);
      auto bwd = [&] {
        kk::launch_attention_bwd(a, b.go, b.q, b.k, b.v, b.o, b.lse, b.gq, b.gk, b.gv, b.ws, kiln::kBFloat16, nullptr);
      };
      if (bwd_valid("kiln_bwd_general", bwd))
        print("kiln_bwd_general", shape, bench::median_ms(bwd, 3), 2.5 * fwd_flops, ceiling, device, commit);
    }
    kk::set_attention_force_general(false);
  }
  for (BFloat16* p : {b.q, b.k, b.v, b.o, b.go, b.gq, b.gk, b.gv}) cudaFree(p);
  cudaFree(b.lse);
  cudaFree(b.ws);
}

}  // namespace

int main() {
  if (!bench::gpu_present()) {
    std::printf("# bench_attention: skipped: no CUDA device\n");
    return 0;
  }
  const std::string device = bench::device_name(), commit = bench::commit();
  const double ceiling = matmul_ceiling_tflops(quick() ? 4096 : 8192);
  std::printf("# bf16 cuBLAS matmul ceiling: %.1f TFLOP/s\n", ceiling);
  std::printf("| version | shape | ms | TFLOP/s | %% of bf16 matmul |\n|---|---|---|---|---|\n");
  const std::vector<int64_t> lengths = quick() ? std::vector<int64_t>{512, 2048} : std::vector<int64_t>{512, 1024, 2048, 4096};
  for (int64_t D : {64, 128})
    for (int64_t T : lengths)
      for (bool causal : {false, true}) bench_shape(T, D, causal, ceiling, device, commit);
  return 0;
}
