// CPU matrix products through cpu::gemm (oneDNN's sgemm for f32 where
// built, OpenBLAS otherwise and for f64); f16/bf16 are widened to f32 for
// the product and rounded back. Small products run on one thread.
#include "core/tensor_impl.h"
#include "cpu/blas_threads.h"
#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"

namespace kiln::cpu {

namespace {
// BLAS view of one operand: transposed or not, leading dimension.
struct GemmOperand {
  bool trans;
  int64_t ld;
};
GemmOperand describe_operand(const Tensor& t) {
  const int64_t rows = t.size(1), cols = t.size(2);
  if (t.stride(2) == 1 && (rows == 1 || t.stride(1) >= cols)) return {false, std::max<int64_t>(rows == 1 ? cols : t.stride(1), 1)};
  return {true, std::max<int64_t>(cols == 1 ? rows : t.stride(2), 1)};
}

template <class T>
void batched(const Tensor& a, const Tensor& b, Tensor& out) {
  const int64_t B = out.size(0), M = out.size(1), N = out.size(2), K = a.size(2);
  const GemmOperand oa = describe_operand(a), ob = describe_operand(b);
  const T* ap = static_cast<const T*>(a.raw_data_ptr());
  const T* bp = static_cast<const T*>(b.raw_data_ptr());
  T* cp = static_cast<T*>(out.raw_data_ptr());
  const bool small = B * M * N * K < kBlasParallelMacs;
  BlasSingleThread single(small);
  for (int64_t i = 0; i < B; ++i) {
    gemm(oa.trans, ob.trans, M, N, K, T(1), ap + i * a.stride(0), oa.ld, bp + i * b.stride(0), ob.ld, T(0),
         cp + i * M * N, N, small);
  }
}
}  // namespace

void CpuBackend::matmul(const Tensor& a, const Tensor& b, Tensor& out) {
  switch (a.dtype()) {
    case DType::Float32:
      return batched<float>(a, b, out);
    case DType::Float64:
      return batched<double>(a, b, out);
    case DType::Float16:
    case DType::BFloat16: {
      Tensor a32 = detail::make_empty(a.sizes(), kFloat32, a.device());
      Tensor b32 = detail::make_empty(b.sizes(), kFloat32, b.device());
      Tensor o32 = detail::make_empty(out.sizes(), kFloat32, out.device());
      copy(a, a32);
      copy(b, b32);
      matmul(a32, b32, o32);
      copy(o32, out);
      return;
    }
    default:
      KILN_CHECK(false, DTypeError, "matmul: not implemented for ", a.dtype(), " on cpu");
  }
}

}  // namespace kiln::cpu
