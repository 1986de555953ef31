// Matrix products (BLAS on the CPU, cuBLAS(Lt) on CUDA).
#pragma once
#include "kiln/core/tensor.h"

namespace kiln {

// NumPy matmul semantics: 1-D operands are promoted and the added dim
// removed; leading (batch) dims broadcast.
Tensor matmul(const Tensor& a, const Tensor& b);
Tensor mm(const Tensor& a, const Tensor& b);   // 2-D only
Tensor bmm(const Tensor& a, const Tensor& b);  // 3-D only, equal batch

}  // namespace kiln
