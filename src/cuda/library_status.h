// How cuBLAS and cuDNN statuses read in the errors of KILN_CUBLAS_CHECK and
// KILN_CUDNN_CHECK (the macros themselves are in kernels/common/check.h).
// Internal to src/cuda.
#pragma once
#include <cublas_v2.h>
#include <cudnn.h>

#include <string>

#include "common/check.h"

namespace kiln::kernels {

template <>
struct StatusText<cublasStatus_t> {
  static bool ok(cublasStatus_t s) { return s == CUBLAS_STATUS_SUCCESS; }
  static std::string text(cublasStatus_t s) {
    return detail::str_cat(cublasGetStatusName(s), " (", cublasGetStatusString(s), ")");
  }
};

template <>
struct StatusText<cudnnStatus_t> {
  static bool ok(cudnnStatus_t s) { return s == CUDNN_STATUS_SUCCESS; }
  static std::string text(cudnnStatus_t s) { return cudnnGetErrorString(s); }
};

}  // namespace kiln::kernels
