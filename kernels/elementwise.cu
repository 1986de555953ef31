// Elementwise unary, binary and where kernels.
//
// Shapes: every operand has out's sizes (broadcasting is expressed as stride
// 0 by the caller), up to 8 dims, coalesced by the caller. Layout: any
// strides. Precision: f16/bf16 are loaded, converted to f32, computed with
// the functors of kernels/functors/elementwise.h (the CPU backend's math),
// and rounded once on store; f32 and f64 compute in their own type; integer
// types in their own type. Overwrites out.
// Algorithm: the map engine of common/map.cuh (contiguous 16-byte vector
// path, strided index-math path). Results can differ from the CPU in the
// last bits where nvcc contracts a * b + c into an FMA or where the CUDA
// math library's exp/tanh/erf differ by an ulp or two from glibc's.
#include "common/map.cuh"
#include "common/nvtx.h"
#include "elementwise.h"
#include "functors/elementwise.h"

namespace kiln::kernels {

void launch_unary(UnaryOp op, const StridedArray& x, const StridedArray& out, const UnaryParams& params,
                  cudaStream_t stream) {
  functors::visit_unary(op, params, [&](auto fn) {
    using F = decltype(fn);
    KILN_NVTX_RANGE(F::kName);
    functors::visit_domain<F>(x.dtype, "cuda", [&](auto tag) {
      using T = decltype(tag);
      const StridedArray* ins[] = {&x};
      launch_map<functors::unary_result_t<F, T>, T>(F::kName, out, ins, fn, stream);
    });
  });
}

void launch_binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                   cudaStream_t stream) {
  functors::visit_binary(op, [&](auto fn) {
    using F = decltype(fn);
    KILN_NVTX_RANGE(F::kName);
    functors::visit_domain<F>(a.dtype, "cuda", [&](auto tag) {
      using T = decltype(tag);
      const StridedArray* ins[] = {&a, &b};
      launch_map<functors::binary_result_t<F, T>, T, T>(F::kName, out, ins, fn, stream);
    });
  });
}

void launch_where(const StridedArray& cond, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                  cudaStream_t stream) {
  KILN_NVTX_RANGE("where");
  if (cond.dtype != DType::Bool)
    throw DTypeError(detail::str_cat("where: expects a bool condition on cuda, got ", dtype_name(cond.dtype)));
  visit_dtype(a.dtype, [&](auto tag) {
    using T = decltype(tag);
    const StridedArray* ins[] = {&cond, &a, &b};
    launch_map<T, bool, T, T>("where", out, ins, functors::Where{}, stream);
  });
}

}  // namespace kiln::kernels
