// Matmul playground: kiln's path (kiln::matmul on CUDA tensors, i.e. the op,
// the caching allocator and CudaBackend::matmul's cached cuBLASLt plan)
// against a bare cublasLtMatmul and a bare cublasGemmEx on the same shapes.
//
// C[M,N] = A[M,K] @ B[K,N], row-major, f32 accumulation.
// rate (TFLOP/s) = 2*M*N*K / seconds / 1e12.
// The FLOP ceiling is the best rate measured for bf16 8192^3 (cuBLASLt or
// GemmEx); pct_of_ceiling = rate / ceiling * 100. ratio_vs_ref = rate /
// cuBLASLt's rate on the same shape and dtype.
// Every version is validated against cublasGemmEx before it is timed.
//
// Output: one JSON line per measurement, then a Markdown table.
// Environment: KILN_GIT_COMMIT or KILN_COMMIT (git commit to stamp), KILN_BENCH_QUICK=1 (fewer shapes).
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <kiln/kiln.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "kernel_bench.cuh"

namespace {

enum class Kind { BF16, F16, F32, TF32 };
const char* kind_name(Kind k) {
  switch (k) {
    case Kind::BF16: return "bf16";
    case Kind::F16: return "f16";
    case Kind::F32: return "f32";
    case Kind::TF32: return "tf32";
  }
  return "?";
}
cudaDataType_t data_type(Kind k) {
  return k == Kind::BF16 ? CUDA_R_16BF : k == Kind::F16 ? CUDA_R_16F : CUDA_R_32F;
}
kiln::DType kiln_dtype(Kind k) {
  return k == Kind::BF16 ? kiln::kBFloat16 : k == Kind::F16 ? kiln::kFloat16 : kiln::kFloat32;
}
cublasComputeType_t compute_type(Kind k) { return k == Kind::TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F; }

template <class T>
__device__ T from_float(float v);
template <> __device__ float from_float<float>(float v) { return v; }
template <> __device__ __half from_float<__half>(float v) { return __float2half(v); }
template <> __device__ __nv_bfloat16 from_float<__nv_bfloat16>(float v) { return __float2bfloat16(v); }
template <class T>
__device__ float to_float(T v) { return static_cast<float>(v); }

// Values in [-1, 1] from a hash of the index: reproducible, no RNG state.
template <class T>
__global__ void fill_kernel(T* p, size_t n, uint32_t seed) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    uint32_t h = static_cast<uint32_t>(i) * 2654435761u ^ seed;
    h ^= h >> 16;
    h *= 0x45d9f3bu;
    h ^= h >> 16;
    p[i] = from_float<T>((h % 2001u) / 1000.0f - 1.0f);
  }
}

// max |x - y| and max |y| into out[0], out[1] (non-negative floats order as ints).
template <class T>
__global__ void diff_kernel(const T* x, const T* y, size_t n, unsigned* out) {
  float d = 0, m = 0;
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x) {
    const float a = to_float(x[i]), b = to_float(y[i]);
    d = fmaxf(d, fabsf(a - b));
    m = fmaxf(m, fabsf(b));
  }
  atomicMax(&out[0], __float_as_uint(d));
  atomicMax(&out[1], __float_as_uint(m));
}

void fill(Kind k, void* p, size_t n, uint32_t seed) {
  if (k == Kind::BF16) fill_kernel<<<1024, 256>>>(static_cast<__nv_bfloat16*>(p), n, seed);
  else if (k == Kind::F16) fill_kernel<<<1024, 256>>>(static_cast<__half*>(p), n, seed);
  else fill_kernel<<<1024, 256>>>(static_cast<float*>(p), n, seed);
  BENCH_CUDA(cudaGetLastError());
}

double rel_diff(Kind k, const void* x, const void* y, size_t n) {
  unsigned* d = nullptr;
  BENCH_CUDA(cudaMalloc(&d, 2 * sizeof(unsigned)));
  BENCH_CUDA(cudaMemset(d, 0, 2 * sizeof(unsigned)));
  if (k == Kind::BF16)
    diff_kernel<<<1024, 256>>>(static_cast<const __nv_bfloat16*>(x), static_cast<const __nv_bfloat16*>(y), n, d);
  else if (k == Kind::F16)
    diff_kernel<<<1024, 256>>>(static_cast<const __half*>(x), static_cast<const __half*>(y), n, d);
  else
    diff_kernel<<<1024, 256>>>(static_cast<const float*>(x), static_cast<const float*>(y), n, d);
  unsigned h[2];
  BENCH_CUDA(cudaMemcpy(h, d, sizeof(h), cudaMemcpyDeviceToHost));
  BENCH_CUDA(cudaFree(d));
  float diff, mag;
  std::memcpy(&diff, &h[0], 4);
  std::memcpy(&mag, &h[1], 4);
  return mag > 0 ? diff / mag : diff;
}

// Milliseconds per call: three warm-ups, one timed call to size the run to
// about 200 ms (5 to 200 calls), then the mean of those back-to-back calls.
template <class F>
double time_ms(F&& f) {
  const double once = bench::mean_ms(f, 1, 3);
  const int iters = std::max(5, std::min(200, static_cast<int>(200.0 / std::max(once, 0.01))));
  return bench::mean_ms(f, iters, 0);
}

struct Shape3 {
  int64_t m, n, k;
};
struct Result {
  std::string version, shape, dtype;
  double ms, rate, pct, ratio;
  double err;
};

struct Bare {
  cublasHandle_t blas = nullptr;
  cublasLtHandle_t lt = nullptr;
  void* ws = nullptr;
  size_t ws_bytes = 32u << 20;
  Bare() {
    BENCH_STATUS(cublasCreate(&blas));
    BENCH_STATUS(cublasLtCreate(&lt));
    BENCH_CUDA(cudaMalloc(&ws, ws_bytes));
  }
  ~Bare() {
    cudaFree(ws);
    cublasLtDestroy(lt);
    cublasDestroy(blas);
  }
};

// C^T[N,M] = B^T[N,K] A^T[K,M] in column-major terms: row-major data as is.
void gemm_ex(Bare& b, Kind k, const Shape3& s, const void* A, const void* B, void* C) {
  const float alpha = 1, beta = 0;
  const cudaDataType_t t = data_type(k);
  BENCH_STATUS(cublasGemmEx(b.blas, CUBLAS_OP_N, CUBLAS_OP_N, int(s.n), int(s.m), int(s.k), &alpha, B, t, int(s.n), A,
                           t, int(s.k), &beta, C, t, int(s.n), compute_type(k), CUBLAS_GEMM_DEFAULT));
}

struct LtCall {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t la = nullptr, lb = nullptr, lc = nullptr;
  cublasLtMatmulAlgo_t algo{};
  LtCall(Bare& b, Kind k, const Shape3& s) {
    const cudaDataType_t t = data_type(k);
    BENCH_STATUS(cublasLtMatmulDescCreate(&desc, compute_type(k), CUDA_R_32F));
    BENCH_STATUS(cublasLtMatrixLayoutCreate(&la, t, s.n, s.k, s.n));
    BENCH_STATUS(cublasLtMatrixLayoutCreate(&lb, t, s.k, s.m, s.k));
    BENCH_STATUS(cublasLtMatrixLayoutCreate(&lc, t, s.n, s.m, s.n));
    cublasLtMatmulPreference_t pref;
    BENCH_STATUS(cublasLtMatmulPreferenceCreate(&pref));
    const uint64_t ws = b.ws_bytes;
    BENCH_STATUS(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws)));
    cublasLtMatmulHeuristicResult_t r{};
    int found = 0;
    BENCH_STATUS(cublasLtMatmulAlgoGetHeuristic(b.lt, desc, la, lb, lc, lc, pref, 1, &r, &found));
    if (found == 0) {
      std::fprintf(stderr, "cuBLASLt: no algorithm\n");
      std::exit(1);
    }
    algo = r.algo;
    cublasLtMatmulPreferenceDestroy(pref);
  }
  ~LtCall() {
    cublasLtMatrixLayoutDestroy(la);
    cublasLtMatrixLayoutDestroy(lb);
    cublasLtMatrixLayoutDestroy(lc);
    cublasLtMatmulDescDestroy(desc);
  }
  void run(Bare& b, const void* A, const void* B, void* C) const {
    const float alpha = 1, beta = 0;
    BENCH_STATUS(cublasLtMatmul(b.lt, desc, &alpha, B, la, A, lb, &beta, C, lc, C, lc, &algo, b.ws, b.ws_bytes, 0));
  }
};

double tolerance(Kind k) { return k == Kind::BF16 ? 2e-2 : k == Kind::F16 ? 1e-2 : k == Kind::TF32 ? 1e-2 : 1e-4; }

}  // namespace

int main() {
  if (!kiln::cuda::is_available()) {
    std::printf("# bench_matmul: skipped: %s\n", kiln::cuda::unavailable_reason().c_str());
    return 0;
  }
  const std::string device = kiln::cuda::get_device_properties(0).name;
  const std::string commit = bench::commit();
  const bool quick = [] {
    const char* v = std::getenv("KILN_BENCH_QUICK");
    return std::string(v && *v ? v : "0") != "0";
  }();
  Bare bare;

  struct Case {
    Shape3 s;
    Kind k;
  };
  std::vector<Case> cases = {{{8192, 8192, 8192}, Kind::BF16}, {{4096, 4096, 4096}, Kind::BF16},
                             {{4096, 4096, 4096}, Kind::F16},  {{4096, 4096, 4096}, Kind::TF32},
                             {{4096, 4096, 4096}, Kind::F32}};
  if (!quick) {
    cases.push_back({{8192, 3072, 768}, Kind::BF16});   // GPT-2 small MLP up, batch*seq = 8192
    cases.push_back({{8192, 768, 3072}, Kind::BF16});   // MLP down
    cases.push_back({{1024, 1024, 1024}, Kind::BF16});
    cases.push_back({{1024, 1024, 1024}, Kind::F32});
    cases.push_back({{127, 4097, 333}, Kind::F16});     // odd sizes
  }

  std::vector<Result> results;
  double ceiling = 0;
  for (const Case& c : cases) {
    const Shape3 s = c.s;
    const Kind k = c.k;
    const bool old_tf32 = kiln::cuda::allow_tf32();
    kiln::cuda::set_allow_tf32(k == Kind::TF32);
    const kiln::TensorOptions opts = kiln::TensorOptions(kiln_dtype(k)).device(kiln::Device("cuda:0"));
    kiln::Tensor a = kiln::empty({s.m, s.k}, opts), b = kiln::empty({s.k, s.n}, opts);
    kiln::Tensor c_ref = kiln::empty({s.m, s.n}, opts), c_lt = kiln::empty({s.m, s.n}, opts);
    fill(k, a.raw_data_ptr(), size_t(s.m * s.k), 1);
    fill(k, b.raw_data_ptr(), size_t(s.k * s.n), 2);
    const size_t n_out = size_t(s.m * s.n);
    const double flop = 2.0 * double(s.m) * double(s.n) * double(s.k);
    char shape[64];
    std::snprintf(shape, sizeof(shape), "%lldx%lldx%lld", (long long)s.m, (long long)s.n, (long long)s.k);

    gemm_ex(bare, k, s, a.raw_data_ptr(), b.raw_data_ptr(), c_ref.raw_data_ptr());
    LtCall lt(bare, k, s);
    lt.run(bare, a.raw_data_ptr(), b.raw_data_ptr(), c_lt.raw_data_ptr());
    kiln::Tensor c_kiln = kiln::matmul(a, b);
    BENCH_CUDA(cudaDeviceSynchronize());
    const double err_lt = rel_diff(k, c_lt.raw_data_ptr(), c_ref.raw_data_ptr(), n_out);
    const double err_kiln = rel_diff(k, c_kiln.raw_data_ptr(), c_ref.raw_data_ptr(), n_out);
    if (err_lt > tolerance(k) || err_kiln > tolerance(k)) {
      std::fprintf(stderr, "bench_matmul: validation failed for %s %s: cuBLASLt %.3g, kiln %.3g (tol %.1g)\n", shape,
                   kind_name(k), err_lt, err_kiln, tolerance(k));
      return 1;
    }

    const double ms_gemm =
        time_ms([&] { gemm_ex(bare, k, s, a.raw_data_ptr(), b.raw_data_ptr(), c_ref.raw_data_ptr()); });
    const double ms_lt = time_ms([&] { lt.run(bare, a.raw_data_ptr(), b.raw_data_ptr(), c_lt.raw_data_ptr()); });
    const double ms_kiln = time_ms([&] { kiln::Tensor out = kiln::matmul(a, b); });
    auto rate = [&](double ms) { return flop / (ms * 1e-3) / 1e12; };
    if (k == Kind::BF16 && s.m == 8192 && s.n == 8192 && s.k == 8192)
      ceiling = std::max(rate(ms_lt), rate(ms_gemm));
    const double ref = rate(ms_lt);
    results.push_back({"kiln", shape, kind_name(k), ms_kiln, rate(ms_kiln), 0, rate(ms_kiln) / ref, err_kiln});
    results.push_back({"cublasLt", shape, kind_name(k), ms_lt, ref, 0, 1.0, err_lt});
    results.push_back({"cublasGemmEx", shape, kind_name(k), ms_gemm, rate(ms_gemm), 0, rate(ms_gemm) / ref, 0});
    kiln::cuda::set_allow_tf32(old_tf32);
  }

  for (Result& r : results) {
    r.pct = ceiling > 0 ? r.rate / ceiling * 100 : 0;
    bench::Result j;
    j.bench = "matmul", j.version = r.version, j.shape = r.shape, j.dtype = r.dtype;
    j.ms = r.ms, j.rate = r.rate, j.unit = "TFLOP/s", j.pct_of_ceiling = r.pct, j.ratio_vs_ref = r.ratio;
    bench::print_json(j, device, commit, {4, 2, 1, 3});
  }
  std::printf("\n### matmul (M x N x K), %s, ceiling bf16 8192^3 = %.1f TFLOP/s\n\n", device.c_str(), ceiling);
  std::printf("| shape | dtype | version | ms | TFLOP/s | %% of ceiling | vs cuBLASLt | max rel err |\n");
  std::printf("|---|---|---|---|---|---|---|---|\n");
  for (const Result& r : results)
    std::printf("| %s | %s | %s | %.4f | %.1f | %.1f | %.3f | %.1e |\n", r.shape.c_str(), r.dtype.c_str(),
                r.version.c_str(), r.ms, r.rate, r.pct, r.ratio, r.err);
  return 0;
}
