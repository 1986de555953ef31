// Launchers of kernels/reduce.cu; the reductions they run are
// kernels/functors/reduce.h's, shared with the CPU backend. Plain C++:
// device pointers, sizes, strides, a dtype and a stream (see
// kernels/kernels.h for what every launcher does).
#pragma once
#include <cuda_runtime.h>

#include <cstddef>
#include <cstdint>

#include "common/strided_array.h"
#include "functors/reduce.h"

namespace kiln::kernels {

using functors::ArgReduceOp;
using functors::ReduceOp;
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

}  // namespace kiln::kernels
