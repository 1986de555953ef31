// Launchers of kernels/elementwise.cu; the functors they run are
// kernels/functors/elementwise.h's, shared with the CPU backend. Plain C++:
// device pointers, sizes, strides, a dtype and a stream (see
// kernels/kernels.h for what every launcher does).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "common/strided_array.h"
#include "functors/elementwise.h"

namespace kiln::kernels {

using functors::BinaryOp;
using functors::UnaryOp;
using functors::UnaryParams;
// All operands have out's sizes. x and out share a dtype (Sign may not
// differ; LogicalNot is bool -> bool). params: Clamp's min/max, PowScalar's exponent.
void launch_unary(UnaryOp op, const StridedArray& x, const StridedArray& out, const UnaryParams& params,
                  cudaStream_t stream);
// a and b share a dtype; out has it too, or bool for comparisons and logical ops.
void launch_binary(BinaryOp op, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                   cudaStream_t stream);
// out = cond ? a : b; cond bool.
void launch_where(const StridedArray& cond, const StridedArray& a, const StridedArray& b, const StridedArray& out,
                  cudaStream_t stream);

}  // namespace kiln::kernels
