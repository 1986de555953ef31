// CudaBackend::matmul: out[b] = a[b] @ b[b] with a [B,M,K], b [B,K,N] (each
// row- or column-major in its last two dims, batch strides possibly 0 for
// broadcast), out [B,M,N] contiguous.
//
// cuBLAS is column-major, so we compute out^T = b^T a^T: a row-major [M,N]
// out is a column-major [N,M] matrix with leading dimension N. A row-major
// operand read as column-major is already its transpose (op N); a
// column-major one needs op T.
//
// f32/f16/bf16 go through cublasLtMatmul with f32 accumulation
// (CUBLAS_COMPUTE_32F; CUBLAS_COMPUTE_32F_FAST_TF32 for f32 when
// kiln::cuda::allow_tf32()). f64 uses cublasDgemmStridedBatched. The Lt
// descriptors and the heuristic's algorithm are cached per shape key; the
// workspace comes from the caching allocator (one per device and stream).
#include <cublasLt.h>
#include <cuda_runtime.h>

#include <cstring>
#include <limits>
#include <memory>
#include <mutex>
#include <unordered_map>

#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

namespace {

// How a row-major-indexed matrix X [R, C] with strides (sr, sc) is handed to
// cuBLAS as the column-major operand X^T [C, R].
struct Operand {
  cublasOperation_t op = CUBLAS_OP_N;
  int64_t rows = 0;  // of the stored column-major matrix
  int64_t cols = 0;
  int64_t ld = 0;
  bool ok = false;  // false: the strides fit neither layout (copy first)
};

Operand as_transposed_operand(int64_t R, int64_t C, int64_t sr, int64_t sc) {
  Operand o;
  // A stride along a size-1 dim is never stepped: any valid ld will do.
  if (sc == 1 || C == 1) {  // row-major: memory is X^T column-major [C, R]
    o.op = CUBLAS_OP_N;
    o.rows = C;
    o.cols = R;
    o.ld = R == 1 ? std::max<int64_t>(C, 1) : sr;
    o.ok = o.ld >= std::max<int64_t>(C, 1);
    if (o.ok) return o;
  }
  if (sr == 1 || R == 1) {  // column-major: memory is X column-major [R, C]
    o.op = CUBLAS_OP_T;
    o.rows = R;
    o.cols = C;
    o.ld = C == 1 ? std::max<int64_t>(R, 1) : sc;
    o.ok = o.ld >= std::max<int64_t>(R, 1);
  }
  return o;
}

cudaDataType_t cuda_data_type(DType t) {
  switch (t) {
    case kFloat32: return CUDA_R_32F;
    case kFloat16: return CUDA_R_16F;
    case kBFloat16: return CUDA_R_16BF;
    case kFloat64: return CUDA_R_64F;
    default: break;
  }
  throw DTypeError(detail::str_cat("matmul: CUDA matmul needs a floating dtype, got ", dtype_name(t)));
}

// Largest power of two (up to 256) dividing the address: cuBLASLt picks
// kernels by operand alignment, so it is part of the plan's key.
uint32_t alignment_of(const void* p) {
  auto v = reinterpret_cast<uintptr_t>(p);
  uint32_t a = 256;
  while (a > 1 && (v % a) != 0) a >>= 1;
  return a;
}

struct PlanKey {
  int device;
  int dtype;
  bool tf32;
  int64_t m, n, k, batch;
  int op_a, op_b;
  int64_t ld_a, ld_b, stride_a, stride_b;
  uint32_t align_a, align_b, align_c;
  bool operator==(const PlanKey& o) const { return std::memcmp(this, &o, sizeof(PlanKey)) == 0; }
};
struct PlanKeyHash {
  size_t operator()(const PlanKey& k) const {
    // FNV-1a over the key's bytes (the key is zero-initialised, padding included).
    const auto* p = reinterpret_cast<const unsigned char*>(&k);
    size_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(PlanKey); ++i) h = (h ^ p[i]) * 1099511628211ull;
    return h;
  }
};

// Descriptors for one shape, built once; never destroyed (they live in a
// process-wide cache that outlives static destructors).
struct LtPlan {
  cublasLtMatmulDesc_t desc = nullptr;
  cublasLtMatrixLayout_t layout_a = nullptr;  // cuBLAS's A: our b
  cublasLtMatrixLayout_t layout_b = nullptr;  // cuBLAS's B: our a
  cublasLtMatrixLayout_t layout_c = nullptr;
  cublasLtMatmulAlgo_t algo{};
};

std::mutex g_plan_mutex;
std::unordered_map<PlanKey, LtPlan*, PlanKeyHash>& plan_cache() {
  static auto* cache = new std::unordered_map<PlanKey, LtPlan*, PlanKeyHash>();
  return *cache;
}

cublasLtMatrixLayout_t make_layout(cudaDataType_t type, int64_t rows, int64_t cols, int64_t ld, int64_t batch,
                                   int64_t batch_stride) {
  cublasLtMatrixLayout_t l = nullptr;
  KILN_CUBLAS_CHECK(cublasLtMatrixLayoutCreate(&l, type, static_cast<uint64_t>(rows), static_cast<uint64_t>(cols), ld));
  if (batch > 1) {
    const int32_t count = static_cast<int32_t>(batch);
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_BATCH_COUNT, &count, sizeof(count)));
    KILN_CUBLAS_CHECK(cublasLtMatrixLayoutSetAttribute(l, CUBLASLT_MATRIX_LAYOUT_STRIDED_BATCH_OFFSET, &batch_stride,
                                                       sizeof(batch_stride)));
  }
  return l;
}

LtPlan* build_plan(const PlanKey& key, DType dtype, cublasLtHandle_t handle) {
  auto plan = std::make_unique<LtPlan>();
  const cudaDataType_t type = cuda_data_type(dtype);
  const cublasComputeType_t compute =
      dtype == kFloat32 && key.tf32 ? CUBLAS_COMPUTE_32F_FAST_TF32 : CUBLAS_COMPUTE_32F;
  KILN_CUBLAS_CHECK(cublasLtMatmulDescCreate(&plan->desc, compute, CUDA_R_32F));
  const auto op_a = static_cast<cublasOperation_t>(key.op_a);
  const auto op_b = static_cast<cublasOperation_t>(key.op_b);
  KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSA, &op_a, sizeof(op_a)));
  KILN_CUBLAS_CHECK(cublasLtMatmulDescSetAttribute(plan->desc, CUBLASLT_MATMUL_DESC_TRANSB, &op_b, sizeof(op_b)));
  // cuBLAS's A is [n, k] after op, B is [k, m], C is [n, m].
  const bool a_n = op_a == CUBLAS_OP_N, b_n = op_b == CUBLAS_OP_N;
  plan->layout_a = make_layout(type, a_n ? key.n : key.k, a_n ? key.k : key.n, key.ld_a, key.batch, key.stride_a);
  plan->layout_b = make_layout(type, b_n ? key.k : key.m, b_n ? key.m : key.k, key.ld_b, key.batch, key.stride_b);
  plan->layout_c = make_layout(type, key.n, key.m, key.n, key.batch, key.m * key.n);

  cublasLtMatmulPreference_t pref = nullptr;
  KILN_CUBLAS_CHECK(cublasLtMatmulPreferenceCreate(&pref));
  const uint64_t ws = kCublasLtWorkspaceBytes;
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof(ws));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, &key.align_a,
                                       sizeof(key.align_a));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, &key.align_b,
                                       sizeof(key.align_b));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, &key.align_c,
                                       sizeof(key.align_c));
  cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, &key.align_c,
                                       sizeof(key.align_c));
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  cublasStatus_t st = cublasLtMatmulAlgoGetHeuristic(handle, plan->desc, plan->layout_a, plan->layout_b,
                                                     plan->layout_c, plan->layout_c, pref, 1, &result, &found);
  cublasLtMatmulPreferenceDestroy(pref);
  KILN_CHECK(st == CUBLAS_STATUS_SUCCESS && found > 0, CudaError, "matmul: cuBLASLt found no algorithm for ",
             dtype_name(dtype), " [", key.batch, ", ", key.m, ", ", key.k, "] @ [", key.batch, ", ", key.k, ", ",
             key.n, "] (status ", cublasGetStatusName(st), ")");
  plan->algo = result.algo;
  return plan.release();
}

void matmul_f64(const Tensor& a, const Tensor& b, Tensor& out, const Operand& ob, const Operand& oa, int64_t B,
                int64_t M, int64_t N, int64_t K, int device) {
  cublasHandle_t h = cublas_handle(device);
  const double alpha = 1.0, beta = 0.0;
  KILN_CUBLAS_CHECK(cublasDgemmStridedBatched(
      h, ob.op, oa.op, static_cast<int>(N), static_cast<int>(M), static_cast<int>(K), &alpha,
      static_cast<const double*>(b.raw_data_ptr()), static_cast<int>(ob.ld), B > 1 ? b.stride(0) : 0,
      static_cast<const double*>(a.raw_data_ptr()), static_cast<int>(oa.ld), B > 1 ? a.stride(0) : 0, &beta,
      static_cast<double*>(out.raw_data_ptr()), static_cast<int>(N), M * N, static_cast<int>(B)));
}

}  // namespace

void CudaBackend::matmul(const Tensor& a_in, const Tensor& b_in, Tensor& out) {
  const int device = out.device().index();
  DeviceGuard guard(device);
  const int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a_in.size(2);
  if (B == 0 || M == 0 || N == 0) return;
  cudaStream_t stream = current_stream(device);
  if (K == 0) {  // an empty sum
    KILN_CUDA_CHECK(cudaMemsetAsync(out.raw_data_ptr(), 0, static_cast<size_t>(out.numel()) * out.element_size(),
                                    stream));
    return;
  }
  // An operand with no unit stride in its matrix dims is made dense here (a
  // backend copy, not the contiguous() op).
  auto dense = [this](const Tensor& t) {
    Tensor d = detail::make_empty(t.sizes(), t.dtype(), t.device());
    copy(t, d);
    return d;
  };
  Tensor a = a_in, b = b_in;
  Operand ob = as_transposed_operand(K, N, b.stride(1), b.stride(2));
  if (!ob.ok) {
    b = dense(b);
    ob = as_transposed_operand(K, N, b.stride(1), b.stride(2));
  }
  Operand oa = as_transposed_operand(M, K, a.stride(1), a.stride(2));
  if (!oa.ok) {
    a = dense(a);
    oa = as_transposed_operand(M, K, a.stride(1), a.stride(2));
  }
  const int64_t int_max = std::numeric_limits<int32_t>::max();
  KILN_CHECK(B <= int_max && M <= int_max && N <= int_max && K <= int_max, ValueError,
             "matmul: CUDA matmul sizes must fit in 32 bits, got [", B, ", ", M, ", ", K, "] @ [", B, ", ", K, ", ",
             N, "]");

  if (out.dtype() == kFloat64) {
    matmul_f64(a, b, out, ob, oa, B, M, N, K, device);
    return;
  }

  PlanKey key;
  std::memset(&key, 0, sizeof(key));  // hashed and compared bytewise, padding included
  key.device = device;
  key.dtype = static_cast<int>(out.dtype());
  key.tf32 = out.dtype() == kFloat32 && allow_tf32();
  key.m = M;
  key.n = N;
  key.k = K;
  key.batch = B;
  key.op_a = static_cast<int>(ob.op);
  key.op_b = static_cast<int>(oa.op);
  key.ld_a = ob.ld;
  key.ld_b = oa.ld;
  key.stride_a = B > 1 ? b.stride(0) : 0;
  key.stride_b = B > 1 ? a.stride(0) : 0;
  key.align_a = alignment_of(b.raw_data_ptr());
  key.align_b = alignment_of(a.raw_data_ptr());
  key.align_c = alignment_of(out.raw_data_ptr());

  cublasLtHandle_t handle = cublaslt_handle(device);
  LtPlan* plan = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_plan_mutex);
    auto it = plan_cache().find(key);
    if (it != plan_cache().end()) plan = it->second;
  }
  if (plan == nullptr) {
    LtPlan* built = build_plan(key, out.dtype(), handle);
    std::lock_guard<std::mutex> lock(g_plan_mutex);
    plan = plan_cache().emplace(key, built).first->second;  // a racing thread's plan wins; ours leaks (rare)
  }
  const float alpha = 1.0f, beta = 0.0f;
  void* workspace = cublaslt_workspace(device);
  KILN_CUBLAS_CHECK(cublasLtMatmul(handle, plan->desc, &alpha, b.raw_data_ptr(), plan->layout_a, a.raw_data_ptr(),
                                   plan->layout_b, &beta, out.raw_data_ptr(), plan->layout_c, out.raw_data_ptr(),
                                   plan->layout_c, &plan->algo, workspace, kCublasLtWorkspaceBytes, stream));
}

}  // namespace kiln::cuda
