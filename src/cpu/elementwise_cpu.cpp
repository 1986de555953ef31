// CPU elementwise kernels: one generic strided map (cpu/loops.h) run with
// the functor the op's enum names (kernels/functors/elementwise.h, shared
// with the CUDA kernels), for the dtypes that functor takes.
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "cpu/vector_math.h"
#include "functors/elementwise.h"

namespace kiln::cpu {

namespace {
// f32 GELU-tanh forward and backward as SIMD loops (cpu/vector_math.h):
// with glibc's tanhf they were a third of a small GPT's training step.
struct GeluTanhF32 {
  [[gnu::always_inline]] float operator()(float x) const { return gelu_tanh_f32(x); }
};
struct GeluTanhBackwardF32 {
  [[gnu::always_inline]] float operator()(float g, float x) const { return gelu_tanh_backward_f32(g, x); }
};
}  // namespace

void CpuBackend::unary(detail::UnaryOp op, const Tensor& x, Tensor& out, const detail::UnaryParams& p) {
  if (op == detail::UnaryOp::GeluTanh && x.dtype() == kFloat32 && out.dtype() == kFloat32) {
    map_elements<float, float>(out, {&x}, GeluTanhF32{});
    return;
  }
  functors::visit_unary(op, p, [&](auto fn) {
    using F = decltype(fn);
    functors::visit_domain<F>(x.dtype(), "cpu", [&](auto tag) {
      using T = decltype(tag);
      map_elements<functors::unary_result_t<F, T>, T>(out, {&x}, fn);
    });
  });
}

void CpuBackend::binary(detail::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (op == detail::BinaryOp::GeluTanhBackward && a.dtype() == kFloat32 && b.dtype() == kFloat32 &&
      out.dtype() == kFloat32) {
    map_elements<float, float, float>(out, {&a, &b}, GeluTanhBackwardF32{});
    return;
  }
  functors::visit_binary(op, [&](auto fn) {
    using F = decltype(fn);
    functors::visit_domain<F>(a.dtype(), "cpu", [&](auto tag) {
      using T = decltype(tag);
      map_elements<functors::binary_result_t<F, T>, T, T>(out, {&a, &b}, fn);
    });
  });
}

void CpuBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  visit_dtype(a.dtype(), [&](auto tag) {
    using T = decltype(tag);
    map_elements<T, bool, T, T>(out, {&cond, &a, &b}, functors::Where{});
  });
}

}  // namespace kiln::cpu
