// Checks for CUDA runtime calls: throw kiln::CudaError naming the call,
// the error, file and line.
#pragma once
#include <cuda_runtime.h>

#include "kiln/core/error.h"

#define KILN_CUDA_CHECK(expr)                                                                          \
  do {                                                                                                 \
    cudaError_t kiln_err_ = (expr);                                                                    \
    if (kiln_err_ != cudaSuccess)                                                                      \
      throw ::kiln::CudaError(::kiln::detail::str_cat(#expr, " failed: ", cudaGetErrorName(kiln_err_), \
                                                      " (", cudaGetErrorString(kiln_err_), ") at ",    \
                                                      __FILE__, ":", __LINE__));                       \
  } while (0)
