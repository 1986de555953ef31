// The one family of CUDA check macros, used by the kernel launchers and by
// src/cuda alike. Each throws kiln::CudaError naming the expression (or the
// kernel), the library's error name and text, file and line:
//   KILN_CUDA_CHECK(expr)    a CUDA runtime call (cudaError_t)
//   KILN_CUBLAS_CHECK(expr)  a cuBLAS / cuBLASLt call (cublasStatus_t)
//   KILN_CUDNN_CHECK(expr)   a cuDNN call (cudnnStatus_t)
//   KILN_CHECK_LAUNCH(name, stream)  after a kernel launch
// The macros are written once here; how a status reads is said by
// StatusText<Status>, specialised for cudaError_t below and for the cuBLAS
// and cuDNN statuses in src/cuda/library_status.h, next to those libraries'
// headers (the kernels include neither library).
//
// KILN_CUDA_SYNC_DEBUG=1 makes KILN_CHECK_LAUNCH synchronise the stream
// after every launch, so an asynchronous fault is reported by the kernel
// that caused it rather than by a later, unrelated call.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>
#include <string>

#include "kiln/core/error.h"

namespace kiln::kernels {

// StatusText<S>::ok(s) and ::text(s) ("NAME (description)") for a status type S.
template <class Status>
struct StatusText;

template <>
struct StatusText<cudaError_t> {
  static bool ok(cudaError_t s) { return s == cudaSuccess; }
  static std::string text(cudaError_t s) {
    return detail::str_cat(cudaGetErrorName(s), " (", cudaGetErrorString(s), ")");
  }
};

template <class Status>
inline void check_status(Status status, const char* expr, const char* file, int line) {
  if (StatusText<Status>::ok(status)) return;
  throw CudaError(detail::str_cat(expr, " failed: ", StatusText<Status>::text(status), " at ", file, ":", line));
}

// Read once: the environment of a running process does not change its mind.
inline bool sync_debug_enabled() {
  static const bool enabled = [] {
    const char* v = std::getenv("KILN_CUDA_SYNC_DEBUG");
    return v != nullptr && std::strcmp(v, "0") != 0 && v[0] != '\0';
  }();
  return enabled;
}

// After each launch: surfaces launch-configuration errors now, and in sync
// debug mode waits for the kernel so an execution fault names it.
inline void check_launch(const char* kernel, cudaStream_t stream, const char* file, int line) {
  cudaError_t err = cudaGetLastError();
  if (err == cudaSuccess && sync_debug_enabled()) err = cudaStreamSynchronize(stream);
  if (err != cudaSuccess)
    throw CudaError(detail::str_cat("kernel ", kernel, " failed: ", StatusText<cudaError_t>::text(err),
                                    sync_debug_enabled() ? "" : " [set KILN_CUDA_SYNC_DEBUG=1 to attribute "
                                                                "asynchronous errors]",
                                    " at ", file, ":", line));
}

}  // namespace kiln::kernels

#define KILN_CUDA_CHECK(expr) ::kiln::kernels::check_status<cudaError_t>((expr), #expr, __FILE__, __LINE__)
#define KILN_CUBLAS_CHECK(expr) ::kiln::kernels::check_status<cublasStatus_t>((expr), #expr, __FILE__, __LINE__)
#define KILN_CUDNN_CHECK(expr) ::kiln::kernels::check_status<cudnnStatus_t>((expr), #expr, __FILE__, __LINE__)
#define KILN_CHECK_LAUNCH(kernel_name, stream) ::kiln::kernels::check_launch(kernel_name, stream, __FILE__, __LINE__)
