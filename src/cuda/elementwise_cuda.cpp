// CudaBackend::unary / binary / where: kernels/elementwise.cu, with the
// backend's op enums mapped one to one onto the kernels'.
// Status: compiled, not yet run on a GPU.
#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

namespace {

kernels::UnaryOp kernel_op(detail::UnaryOp op) {
  using U = detail::UnaryOp;
  using K = kernels::UnaryOp;
  switch (op) {
    case U::Neg: return K::Neg;
    case U::Abs: return K::Abs;
    case U::Sign: return K::Sign;
    case U::Exp: return K::Exp;
    case U::Log: return K::Log;
    case U::Sqrt: return K::Sqrt;
    case U::Rsqrt: return K::Rsqrt;
    case U::Reciprocal: return K::Reciprocal;
    case U::Tanh: return K::Tanh;
    case U::Sigmoid: return K::Sigmoid;
    case U::Relu: return K::Relu;
    case U::GeluErf: return K::GeluErf;
    case U::GeluTanh: return K::GeluTanh;
    case U::Silu: return K::Silu;
    case U::LogicalNot: return K::LogicalNot;
    case U::Clamp: return K::Clamp;
    case U::PowScalar: return K::PowScalar;
  }
  throw InternalError("unary: unknown op");
}

kernels::BinaryOp kernel_op(detail::BinaryOp op) {
  using B = detail::BinaryOp;
  using K = kernels::BinaryOp;
  switch (op) {
    case B::Add: return K::Add;
    case B::Sub: return K::Sub;
    case B::Mul: return K::Mul;
    case B::Div: return K::Div;
    case B::Pow: return K::Pow;
    case B::Maximum: return K::Maximum;
    case B::Minimum: return K::Minimum;
    case B::Eq: return K::Eq;
    case B::Ne: return K::Ne;
    case B::Lt: return K::Lt;
    case B::Le: return K::Le;
    case B::Gt: return K::Gt;
    case B::Ge: return K::Ge;
    case B::LogicalAnd: return K::LogicalAnd;
    case B::LogicalOr: return K::LogicalOr;
    case B::ReluBackward: return K::ReluBackward;
    case B::SigmoidBackward: return K::SigmoidBackward;
    case B::TanhBackward: return K::TanhBackward;
    case B::GeluErfBackward: return K::GeluErfBackward;
    case B::GeluTanhBackward: return K::GeluTanhBackward;
    case B::SiluBackward: return K::SiluBackward;
  }
  throw InternalError("binary: unknown op");
}

}  // namespace

void CudaBackend::unary(detail::UnaryOp op, const Tensor& x, Tensor& out, const detail::UnaryParams& params) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  const auto arrays = coalesced_arrays("unary", {&out, &x});
  kernels::launch_unary(kernel_op(op), arrays[1], arrays[0], params.a, params.b, ctx.stream);
}

void CudaBackend::binary(detail::BinaryOp op, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  const auto arrays = coalesced_arrays("binary", {&out, &a, &b});
  kernels::launch_binary(kernel_op(op), arrays[1], arrays[2], arrays[0], ctx.stream);
}

void CudaBackend::where(const Tensor& cond, const Tensor& a, const Tensor& b, Tensor& out) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  const auto arrays = coalesced_arrays("where", {&out, &cond, &a, &b});
  kernels::launch_where(arrays[1], arrays[2], arrays[3], arrays[0], ctx.stream);
}

}  // namespace kiln::cuda
