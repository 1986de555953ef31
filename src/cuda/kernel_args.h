// Turning tensors into the plain arguments of kernels/kernels.h launchers:
// StridedArray views (at most 8 dims, after merging dims where possible)
// and the (device guard, current stream) pair every launch needs.
#pragma once
#include <array>
#include <cstddef>
#include <vector>

#include "cuda/context.h"
#include "kernels.h"
#include "kiln/core/tensor.h"

namespace kiln::cuda {

// Makes the tensor's device current and names its current stream.
struct LaunchContext {
  explicit LaunchContext(const Device& device) : guard(device.index()), stream(current_stream(device.index())) {}
  DeviceGuard guard;
  cudaStream_t stream;
};

// A tensor as it is (no dim merging); rank above 8 throws ShapeError naming op.
kernels::StridedArray strided_array(const char* op, const Tensor& t);

// out and inputs (all with out's sizes; inputs may broadcast with stride 0)
// as StridedArrays over one shared, merged shape: size-1 dims dropped and a
// dim folded into its inner neighbour when every operand steps evenly across
// both. A contiguous set becomes 1-D with stride 1 (the kernels' vector
// path). Throws ShapeError when more than 8 dims remain.
std::vector<kernels::StridedArray> coalesced_arrays(const char* op, const std::vector<const Tensor*>& operands);

}  // namespace kiln::cuda
