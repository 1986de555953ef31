// Row-major matrix products for the CPU backend (matmul, the im2col
// convolution, the blocked attention): C[M,N] = alpha op(A) op(B) + beta C.
//
// f32 runs on oneDNN's sgemm when kiln is built with oneDNN, else on
// OpenBLAS; f64 runs on OpenBLAS. oneDNN picks its kernels from the CPU's
// feature bits; OpenBLAS 0.3.21 (Debian 12) picks them from the CPU's model
// number and falls back to its SSE3 "Prescott" kernels on a model it does
// not know, which made f32 products 6x slower on an Emerald Rapids machine
// (benchmarks/cpu/bench_gemm_ceiling.cpp; docs/benchmarks.md).
#pragma once
#include <cstdint>

namespace kiln::cpu {

// `one_thread`: run the product on the calling thread only (callers inside
// kiln's pool, and small products); otherwise the product may use the
// calling thread's OpenMP threads (oneDNN) or OpenBLAS's pool. Callers that
// run OpenBLAS products from several threads at once keep OpenBLAS itself on
// one thread with BlasSingleThread (cpu/blas_threads.h) around the region.
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool one_thread);
void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc, bool one_thread);

}  // namespace kiln::cpu
