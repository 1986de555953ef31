#include "cpu/gemm.h"

#include <cblas.h>
#include <omp.h>

#include <algorithm>

#include "cpu/parallel.h"
#include "kiln/core/error.h"

#if KILN_WITH_ONEDNN
#include <oneapi/dnnl/dnnl.h>
#endif

namespace kiln::cpu {

namespace {
CBLAS_TRANSPOSE blas_trans(bool t) { return t ? CblasTrans : CblasNoTrans; }

// Holds this thread's OpenMP thread count at 1 while alive (oneDNN sizes its
// parallel regions by it); the setting is per thread, so concurrent callers
// in kiln's pool do not disturb each other.
class OpenMpSingleThread {
 public:
  explicit OpenMpSingleThread(bool active) : prev_(active ? omp_get_max_threads() : 0) {
    if (prev_ > 1) omp_set_num_threads(1);
  }
  ~OpenMpSingleThread() {
    if (prev_ > 1) omp_set_num_threads(prev_);
  }
  OpenMpSingleThread(const OpenMpSingleThread&) = delete;
  OpenMpSingleThread& operator=(const OpenMpSingleThread&) = delete;

 private:
  int prev_;
};
}  // namespace

#if KILN_WITH_ONEDNN
namespace {
void onednn_sgemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A,
                  int64_t lda, const float* B, int64_t ldb, float beta, float* C, int64_t ldc) {
  OpenMpSingleThread single(true);
  const dnnl_status_t status = dnnl_sgemm(trans_a ? 'T' : 'N', trans_b ? 'T' : 'N', M, N, K, alpha, A, lda, B, ldb,
                                          beta, C, ldc);
  KILN_CHECK(status == dnnl_success, Error, "matmul: oneDNN's sgemm failed (status ", int(status), ") for M ", M,
             ", N ", N, ", K ", K, ", lda ", lda, ", ldb ", ldb, ", ldc ", ldc, " (float32, cpu)");
}
}  // namespace
#endif

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, float alpha, const float* A, int64_t lda,
          const float* B, int64_t ldb, float beta, float* C, int64_t ldc, bool one_thread) {
#if KILN_WITH_ONEDNN
  // A large product is split into row (or column) blocks of C over kiln's
  // pool, each block one single-threaded oneDNN call. oneDNN's own OpenMP
  // threads would spin after every product while kiln's pool runs the
  // elementwise ops between them: on 2 cores that spinning took a third of
  // char_gpt's training step (perf), and the pool's threads block instead.
  const int threads = one_thread ? 1 : pool_threads();
  const bool split_rows = M >= N;
  const int64_t extent = split_rows ? M : N;
  constexpr int64_t kAlign = 16;  // whole register tiles per block
  const int64_t chunk = ((extent + threads - 1) / threads + kAlign - 1) / kAlign * kAlign;
  const int blocks = threads <= 1 || chunk == 0 ? 1 : static_cast<int>((extent + chunk - 1) / chunk);  // chunk 0: an empty C
  if (blocks <= 1) return onednn_sgemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
  parallel_run(blocks, [&](int t) {
    const int64_t begin = t * chunk, len = std::min(chunk, extent - begin);
    if (len <= 0) return;
    if (split_rows) {  // rows of C and of op(A)
      onednn_sgemm(trans_a, trans_b, len, N, K, alpha, trans_a ? A + begin : A + begin * lda, lda, B, ldb, beta,
                   C + begin * ldc, ldc);
    } else {  // columns of C and of op(B)
      onednn_sgemm(trans_a, trans_b, M, len, K, alpha, A, lda, trans_b ? B + begin * ldb : B + begin, ldb, beta,
                   C + begin, ldc);
    }
  });
#else
  (void)one_thread;  // OpenBLAS's thread count is the caller's BlasSingleThread
  cblas_sgemm(CblasRowMajor, blas_trans(trans_a), blas_trans(trans_b), static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
              static_cast<int>(ldc));
#endif
}

void gemm(bool trans_a, bool trans_b, int64_t M, int64_t N, int64_t K, double alpha, const double* A, int64_t lda,
          const double* B, int64_t ldb, double beta, double* C, int64_t ldc, bool /*one_thread*/) {
  cblas_dgemm(CblasRowMajor, blas_trans(trans_a), blas_trans(trans_b), static_cast<int>(M), static_cast<int>(N),
              static_cast<int>(K), alpha, A, static_cast<int>(lda), B, static_cast<int>(ldb), beta, C,
              static_cast<int>(ldc));
}

}  // namespace kiln::cpu
