// Launchers of kiln's hand-written CUDA kernels: the one header src/cuda and
// the benchmarks include. Plain C++: raw device pointers, sizes, strides
// (StridedArray, at most 8 dims), a dtype and a stream; never a kiln::Tensor.
//
// Every launcher returns at once without launching when there is no work,
// enqueues on `stream`, checks cudaGetLastError, and synchronises the stream
// when KILN_CUDA_SYNC_DEBUG=1 (kernels/common/check.h), throwing
// kiln::CudaError that names the kernel. Unsupported dtypes throw
// kiln::DTypeError. Status: compiled, not yet run on a GPU.
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

constexpr int kMaxDims = 8;

// A strided array in device memory: element (i_0, ..., i_{ndim-1}) lives at
// data + sum_d i_d * strides[d] elements. A stride of 0 broadcasts.
struct StridedArray {
  void* data = nullptr;
  DType dtype = DType::Float32;
  int ndim = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[kMaxDims] = {};  // in elements
};
inline int64_t numel(const StridedArray& a) {
  int64_t n = 1;
  for (int d = 0; d < a.ndim; ++d) n *= a.sizes[d];
  return n;
}

// --- copy.cu ----------------------------------------------------------------------
// dst = cast(src), same sizes; any dtypes and strides (src may broadcast).
void launch_copy(const StridedArray& src, const StridedArray& dst, cudaStream_t stream);
// Every element of out = *value (one element of out.dtype, in host memory).
void launch_fill(const StridedArray& out, const void* value, cudaStream_t stream);
// out[i] = start + i * step for a contiguous 1-D out of n elements.
void launch_arange(void* out, DType dtype, int64_t n, double start, double step, cudaStream_t stream);

// --- elementwise.cu -----------------------------------------------------------------
// Same order and meaning as detail::UnaryOp / BinaryOp (src/backend/backend.h).
enum class UnaryOp : uint8_t {
  Neg, Abs, Sign, Exp, Log, Sqrt, Rsqrt, Reciprocal, Tanh, Sigmoid, Relu,
  GeluErf, GeluTanh, Silu, LogicalNot, Clamp, PowScalar
};
enum class BinaryOp : uint8_t {
  Add, Sub, Mul, Div, Pow, Maximum, Minimum, Eq, Ne, Lt, Le, Gt, Ge, LogicalAnd, LogicalOr,
  ReluBackward, SigmoidBackward, TanhBackward, GeluErfBackward, GeluTanhBackward, SiluBackward
};
// All operands have out's sizes. x and out share a dtype (Sign may not
// differ; LogicalNot is bool -> bool). a = Clamp min / PowScalar exponent, b = Clamp max.
void launch_unary(UnaryOp op, const StridedArray& x, const StridedArray& out, double a, double b,
                  cudaStream_t stream);
// a and b share a dtype; out has it too, or bool for comparisons and logical ops.
void launch_binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                   cudaStream_t stream);
// out = cond ? a : b; cond bool.
void launch_where(const StridedArray& cond, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                  cudaStream_t stream);

// --- reduce.cu ----------------------------------------------------------------------
enum class ReduceOp : uint8_t { Sum, Max, Min };
enum class ArgReduceOp : uint8_t { ArgMax, ArgMin };
// out has x's ndim with size 1 in every dim whose bit is set in dims_mask,
// and x's dtype. Large reductions with few outputs are split over blocks and
// need a device workspace of reduce_workspace_bytes(...) bytes (may be 0);
// both calls must see the same arguments and current device.
size_t reduce_workspace_bytes(ReduceOp op, const StridedArray& x, uint32_t dims_mask);
void launch_reduce(ReduceOp op, const StridedArray& x, uint32_t dims_mask, const StridedArray& out, void* workspace,
                   cudaStream_t stream);
// out (int64, size 1 in `dim`) = index of the first max/min along dim (a NaN counts as the extreme).
void launch_arg_reduce(ArgReduceOp op, const StridedArray& x, int dim, const StridedArray& out,
                       cudaStream_t stream);

// --- softmax.cu ---------------------------------------------------------------------
// x, y contiguous, viewed as [outer, n, inner]; softmax over n.
void launch_softmax_forward(const void* x, void* y, DType dtype, int64_t outer, int64_t n, int64_t inner, bool log,
                            cudaStream_t stream);
// gx from the forward output y and its gradient gy (all contiguous, same view).
void launch_softmax_backward(const void* y, const void* gy, void* gx, DType dtype, int64_t outer, int64_t n,
                             int64_t inner, bool log, cudaStream_t stream);

// --- index.cu -----------------------------------------------------------------------
// out[..., j, ...] = x[..., index[j], ...] along dim; index int64 1-D with
// index_stride; out.sizes[dim] index entries.
void launch_index_select(const StridedArray& x, int dim, const int64_t* index, int64_t index_stride,
                         const StridedArray& out, cudaStream_t stream);
// out[p] = x[p with coordinate dim replaced by index[p]]; index int64 with out's sizes.
void launch_gather(const StridedArray& x, int dim, const StridedArray& index, const StridedArray& out,
                   cudaStream_t stream);
// out[p with coordinate dim replaced by index[p]] += src[p] for every p of
// index (src has index's sizes); atomics, so the order of additions is not fixed.
void launch_scatter_add(const StridedArray& out, int dim, const StridedArray& index, const StridedArray& src,
                        cudaStream_t stream);

// --- random.cu ----------------------------------------------------------------------
// Contiguous out of n elements; element i uses functors::philox_pair(seed,
// offset, i), exactly as the CPU backend, so both devices give the same numbers.
void launch_uniform(void* out, DType dtype, int64_t n, double low, double high, uint64_t seed, uint64_t offset,
                    cudaStream_t stream);
void launch_normal(void* out, DType dtype, int64_t n, double mean, double std, uint64_t seed, uint64_t offset,
                   cudaStream_t stream);
void launch_randint(void* out, DType dtype, int64_t n, int64_t low, int64_t high, uint64_t seed, uint64_t offset,
                    cudaStream_t stream);

}  // namespace kiln::kernels

// Families declared in their own headers (conv, pooling, batch norm, optimizers, cross entropy).
#include "batch_norm.cuh"
#include "conv2d.cuh"
#include "cross_entropy.cuh"
#include "optim.cuh"
#include "pool2d.cuh"
