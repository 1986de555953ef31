// Per-device CUDA state: current stream, library handles, workspaces.
// Internal to src/cuda; nothing here appears in public headers.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include "kiln/core/device.h"

namespace kiln::cuda {

// Makes `device` current on this thread (cudaSetDevice) for the guard's life.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int prev_;
};

// The stream ops on `device` enqueue to from this thread (default: the
// legacy default stream until a StreamGuard sets another).
cudaStream_t current_stream(int device);
void set_current_stream(int device, cudaStream_t stream);

// Handles bound to (device, current stream), created once and cached.
cublasHandle_t cublas_handle(int device);
cublasLtHandle_t cublaslt_handle(int device);
cudnnHandle_t cudnn_handle(int device);

}  // namespace kiln::cuda
