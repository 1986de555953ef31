// Per-device CUDA state: current stream, library handles, workspaces.
// Internal to src/cuda; nothing here appears in public headers.
#pragma once
#include <cublasLt.h>
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <cstddef>

#include "cuda/library_status.h"
#include "kiln/core/device.h"

namespace kiln::cuda {

class CachingAllocator;
class PinnedHostPool;

// The device this thread's CUDA calls go to (cudaGetDevice).
int current_device();
// -1 means the current device; otherwise checks 0 <= device < device_count().
int resolve_device(int device, const char* op);

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

// Handles created once per (thread, device) and cached; cublas_handle and
// cudnn_handle set the current stream on every call. cuBLASLt takes the
// stream per matmul call.
cublasHandle_t cublas_handle(int device);
cublasLtHandle_t cublaslt_handle(int device);
cudnnHandle_t cudnn_handle(int device);

// Scratch memory for cublasLtMatmul on (device, current stream), from the
// caching allocator, kept for the process's life. kCublasLtWorkspaceBytes
// is what Hopper's fastest kernels ask for.
constexpr size_t kCublasLtWorkspaceBytes = 32u << 20;
void* cublaslt_workspace(int device);
// Frees what is kept per (device, stream) when a kiln-created stream goes
// (after its work finished), and tells the caching allocator.
void release_stream_resources(int device, cudaStream_t stream);

// The process-wide settings of kiln/cuda.h (set_allow_tf32, set_conv2d_impl)
// live in context.cpp with the rest of the backend's state.

// The caching allocator of a device (created on first use, never destroyed:
// tensors may outlive static destructors) and the process's pinned host pool.
CachingAllocator& device_allocator(int device);
PinnedHostPool& pinned_host_pool();
// True for page-locked host memory (from the pool or any cudaHostAlloc).
bool is_pinned_pointer(const void* p);

}  // namespace kiln::cuda
