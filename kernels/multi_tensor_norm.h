// Launcher of the multi-tensor norm (kernels/multi_tensor_norm.cu): the L2
// norm of each of many tensors and how many of its elements are NaN or
// infinite, in two launches whatever the number of tensors. Plain C++.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// One contiguous tensor of `numel` elements of a floating dtype.
struct NormTensor {
  const void* data = nullptr;
  int64_t numel = 0;
  DType dtype = DType::Float32;
};

// The number of doubles of scratch `partials` that launch_multi_tensor_norm
// needs for these tensors (two per chunk of 65536 elements).
int64_t multi_tensor_norm_partials(const std::vector<NormTensor>& tensors);

// out (double [tensors.size(), 2], row-major, overwritten): out[2i] = the L2
// norm of tensor i over its finite elements, out[2i + 1] = its count of
// NaN/inf elements. Sums in double, in a fixed order: the result does not
// depend on timing.
void launch_multi_tensor_norm(const std::vector<NormTensor>& tensors, double* partials, double* out,
                              cudaStream_t stream);

}  // namespace kiln::kernels
