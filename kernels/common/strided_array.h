// How launchers take a tensor: a device pointer, a dtype, sizes and strides.
// Plain C++ (src/cuda builds these from tensors, src/cuda/kernel_args.h).
#pragma once
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

}  // namespace kiln::kernels
