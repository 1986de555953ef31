// The f32 GEMM ceiling of this machine, per shape: OpenBLAS (with the core
// its run-time dispatch picked) beside oneDNN's dnnl_sgemm, on 1 and N
// threads, for the products of a training step of char_gpt's default model
// (16 x 64 tokens, width 128) and of the 784-1024-1024-10 MLP (batch 128).
// Each linear layer y = x W^T makes three products: forward (NT), the input
// gradient dY W (NN) and the weight gradient dY^T x (TN).
//   bench_gemm_ceiling [REPS] [THREADS]     (default 50, the number of cores)
// Prints a Markdown table and one JSON line per shape and library.
#include <cblas.h>
#include <omp.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "median_time.h"

#if KILN_BENCH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace {

struct Shape {
  const char* model;
  const char* product;  // which product of which layer
  char ta, tb;          // 'N' or 'T', row-major
  int m, n, k;
};

// Row-major C[m,n] = op(A) op(B) with A stored [m,k] (or [k,m] when 'T').
struct Operands {
  std::vector<float> a, b, c;
  Operands(const Shape& s) : a(size_t(s.m) * s.k), b(size_t(s.k) * s.n), c(size_t(s.m) * s.n) {
    unsigned x = 12345;
    for (auto* v : {&a, &b})
      for (float& f : *v) f = float((x = x * 1664525u + 1013904223u) >> 8) / float(1 << 24) - 0.5f;
  }
};

double openblas_ms(const Shape& s, Operands& o, int threads, int reps) {
  openblas_set_num_threads(threads);
  const int lda = s.ta == 'N' ? s.k : s.m, ldb = s.tb == 'N' ? s.n : s.k;
  return kiln::bench::median_ms(
      [&] {
        cblas_sgemm(CblasRowMajor, s.ta == 'N' ? CblasNoTrans : CblasTrans, s.tb == 'N' ? CblasNoTrans : CblasTrans,
                    s.m, s.n, s.k, 1.f, o.a.data(), lda, o.b.data(), ldb, 0.f, o.c.data(), s.n);
      },
      reps);
}

#if KILN_BENCH_ONEDNN
double onednn_ms(const Shape& s, Operands& o, int threads, int reps) {
  omp_set_num_threads(threads);
  const int lda = s.ta == 'N' ? s.k : s.m, ldb = s.tb == 'N' ? s.n : s.k;
  return kiln::bench::median_ms(
      [&] { dnnl_sgemm(s.ta, s.tb, s.m, s.n, s.k, 1.f, o.a.data(), lda, o.b.data(), ldb, 0.f, o.c.data(), s.n); },
      reps);
}
#endif

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 50;
  const int many = argc > 2 ? std::atoi(argv[2]) : int(std::thread::hardware_concurrency());
  const std::vector<Shape> shapes = {
      {"char_gpt", "qkv forward", 'N', 'T', 1024, 384, 128},
      {"char_gpt", "qkv input grad", 'N', 'N', 1024, 128, 384},
      {"char_gpt", "qkv weight grad", 'T', 'N', 384, 128, 1024},
      {"char_gpt", "fc forward", 'N', 'T', 1024, 512, 128},
      {"char_gpt", "proj forward", 'N', 'T', 1024, 128, 512},
      {"char_gpt", "proj weight grad", 'T', 'N', 128, 512, 1024},
      {"char_gpt", "lm head forward", 'N', 'T', 1024, 256, 128},
      {"mlp", "fc1 forward", 'N', 'T', 128, 1024, 784},
      {"mlp", "fc2 forward", 'N', 'T', 128, 1024, 1024},
      {"mlp", "fc2 input grad", 'N', 'N', 128, 1024, 1024},
      {"mlp", "fc2 weight grad", 'T', 'N', 1024, 1024, 128},
      {"square", "512^3", 'N', 'N', 512, 512, 512},
  };
  std::printf("# OpenBLAS %s, core %s; %d repetitions, median; threads 1 and %d\n\n", openblas_get_config(),
              openblas_get_corename(), reps, many);
  std::printf("| model | product | op | m x n x k | OpenBLAS 1t GFLOP/s | OpenBLAS %dt | oneDNN 1t | oneDNN %dt |\n", many,
              many);
  std::printf("|---|---|---|---|---|---|---|---|\n");
  std::vector<std::string> json;
  for (const Shape& s : shapes) {
    Operands o(s);
    const double flop = 2.0 * s.m * s.n * s.k;
    auto gflops = [&](double ms) { return ms > 0 ? flop / ms / 1e6 : 0.0; };
    const double b1 = openblas_ms(s, o, 1, reps), bn = openblas_ms(s, o, many, reps);
    double d1 = 0, dn = 0;
#if KILN_BENCH_ONEDNN
    d1 = onednn_ms(s, o, 1, reps);
    dn = onednn_ms(s, o, many, reps);
#endif
    std::printf("| %s | %s | %c%c | %d x %d x %d | %.1f | %.1f | %.1f | %.1f |\n", s.model, s.product, s.ta, s.tb, s.m,
                s.n, s.k, gflops(b1), gflops(bn), gflops(d1), gflops(dn));
    char line[512];
    std::snprintf(line, sizeof line,
                  "{\"bench\": \"gemm_ceiling\", \"model\": \"%s\", \"product\": \"%s\", \"op\": \"%c%c\", \"m\": %d, "
                  "\"n\": %d, \"k\": %d, \"openblas_core\": \"%s\", \"openblas_1t_ms\": %.4f, \"openblas_nt_ms\": %.4f, "
                  "\"onednn_1t_ms\": %.4f, \"onednn_nt_ms\": %.4f, \"threads\": %d}",
                  s.model, s.product, s.ta, s.tb, s.m, s.n, s.k, openblas_get_corename(), b1, bn, d1, dn, many);
    json.emplace_back(line);
  }
  std::printf("\n");
  for (const auto& l : json) std::printf("%s\n", l.c_str());
  return 0;
}
