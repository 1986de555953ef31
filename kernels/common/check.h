// Error checks for kernel launchers: a failed CUDA call or launch throws
// kiln::CudaError naming the expression or kernel, the error, file and line.
// KILN_CUDA_SYNC_DEBUG=1 makes check_launch synchronise the stream after
// every launch, so an asynchronous fault is reported by the kernel that
// caused it rather than by a later, unrelated call.
#pragma once
#include <cuda_runtime.h>

#include <cstdlib>
#include <cstring>

#include "kiln/core/error.h"

#define KILN_KERNEL_CHECK(expr)                                                                                   \
  do {                                                                                                            \
    cudaError_t kiln_kerr_ = (expr);                                                                              \
    if (kiln_kerr_ != cudaSuccess)                                                                                \
      throw ::kiln::CudaError(::kiln::detail::str_cat(#expr, " failed: ", cudaGetErrorName(kiln_kerr_), " (",    \
                                                      cudaGetErrorString(kiln_kerr_), ") at ", __FILE__, ":",     \
                                                      __LINE__));                                                 \
  } while (0)

namespace kiln::kernels {

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
    throw ::kiln::CudaError(::kiln::detail::str_cat("kernel ", kernel, " failed: ", cudaGetErrorName(err), " (",
                                                    cudaGetErrorString(err), ")",
                                                    sync_debug_enabled() ? "" : " [set KILN_CUDA_SYNC_DEBUG=1 to "
                                                                                "attribute asynchronous errors]",
                                                    " at ", file, ":", line));
}

}  // namespace kiln::kernels

#define KILN_CHECK_LAUNCH(kernel_name, stream) ::kiln::kernels::check_launch(kernel_name, stream, __FILE__, __LINE__)
