// Per-device, per-thread CUDA state: current device and stream, cached
// library handles, cuBLASLt workspaces; and the backend's process-wide
// settings (TF32, the conv2d implementation).
//
// Handles are per thread because a cuBLAS/cuDNN handle must not be used by
// two threads at once; they are created lazily and deliberately never
// destroyed (destroying them in thread-exit or static destructors can run
// after the driver is unloaded).
#include "cuda/context.h"

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <utility>
#include <vector>

#include "cuda/caching_allocator.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

namespace {

struct ThreadState {
  std::vector<cudaStream_t> streams;  // per device; nullptr is the legacy default stream
  std::vector<cublasHandle_t> cublas;
  std::vector<cublasLtHandle_t> cublaslt;
  std::vector<cudnnHandle_t> cudnn;
};

ThreadState& thread_state(int device) {
  thread_local ThreadState state;
  if (state.streams.size() <= static_cast<size_t>(device)) {
    const size_t n = static_cast<size_t>(std::max(device + 1, device_count()));
    state.streams.resize(n, nullptr);
    state.cublas.resize(n, nullptr);
    state.cublaslt.resize(n, nullptr);
    state.cudnn.resize(n, nullptr);
  }
  return state;
}

// The backend's process-wide settings (kiln/cuda.h). conv2d_impl starts
// from KILN_CONV_IMPL, read on first use.
struct Settings {
  std::atomic<bool> allow_tf32{false};
  std::atomic<int> conv2d_impl{-1};  // -1: KILN_CONV_IMPL not read yet
  std::atomic<bool> embedding_deterministic{true};
};
Settings& settings() {
  static Settings s;
  return s;
}

Conv2dImpl conv2d_impl_from_env() {
  const char* env = std::getenv("KILN_CONV_IMPL");
  if (env == nullptr || env[0] == '\0' || std::strcmp(env, "auto") == 0) return Conv2dImpl::Auto;
  if (std::strcmp(env, "cudnn") == 0) return Conv2dImpl::CuDNN;
  if (std::strcmp(env, "kiln") == 0) return Conv2dImpl::Kiln;
  throw ValueError(detail::str_cat("KILN_CONV_IMPL must be 'auto', 'cudnn' or 'kiln', got '", env, "'"));
}

std::mutex g_workspace_mutex;
std::map<std::pair<int, cudaStream_t>, void*>& workspaces() {
  static auto* w = new std::map<std::pair<int, cudaStream_t>, void*>();  // outlives static destructors
  return *w;
}

}  // namespace

int current_device() {
  int d = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&d));
  return d;
}

int resolve_device(int device, const char* op) {
  KILN_CHECK(is_available(), DeviceError, op, ": no CUDA device is usable: ", unavailable_reason());
  if (device < 0) return current_device();
  KILN_CHECK(device < device_count(), DeviceError, op, ": device cuda:", device, " does not exist (",
             device_count(), " CUDA devices present)");
  return device;
}

DeviceGuard::DeviceGuard(int device) : prev_(current_device()) {
  if (device != prev_) KILN_CUDA_CHECK(cudaSetDevice(device));
}

DeviceGuard::~DeviceGuard() {
  int now = -1;
  if (cudaGetDevice(&now) == cudaSuccess && now != prev_) cudaSetDevice(prev_);  // never throws
}

cudaStream_t current_stream(int device) { return thread_state(device).streams[device]; }

void set_current_stream(int device, cudaStream_t stream) { thread_state(device).streams[device] = stream; }

cublasHandle_t cublas_handle(int device) {
  ThreadState& st = thread_state(device);
  if (st.cublas[device] == nullptr) {
    DeviceGuard guard(device);
    KILN_CUBLAS_CHECK(cublasCreate(&st.cublas[device]));
  }
  KILN_CUBLAS_CHECK(cublasSetStream(st.cublas[device], st.streams[device]));
  return st.cublas[device];
}

cublasLtHandle_t cublaslt_handle(int device) {
  ThreadState& st = thread_state(device);
  if (st.cublaslt[device] == nullptr) {
    DeviceGuard guard(device);
    KILN_CUBLAS_CHECK(cublasLtCreate(&st.cublaslt[device]));
  }
  return st.cublaslt[device];
}

cudnnHandle_t cudnn_handle(int device) {
  ThreadState& st = thread_state(device);
  if (st.cudnn[device] == nullptr) {
    DeviceGuard guard(device);
    KILN_CUDNN_CHECK(cudnnCreate(&st.cudnn[device]));
  }
  KILN_CUDNN_CHECK(cudnnSetStream(st.cudnn[device], st.streams[device]));
  return st.cudnn[device];
}

// One workspace per (device, stream): two streams running matmuls at once
// must not share scratch memory.
void* cublaslt_workspace(int device) {
  cudaStream_t stream = current_stream(device);
  std::lock_guard<std::mutex> lock(g_workspace_mutex);
  void*& ws = workspaces()[{device, stream}];
  if (ws == nullptr)
    ws = device_allocator(device).allocate(kCublasLtWorkspaceBytes, reinterpret_cast<StreamId>(stream));
  return ws;
}

void release_stream_resources(int device, cudaStream_t stream) {
  void* ws = nullptr;
  {
    std::lock_guard<std::mutex> lock(g_workspace_mutex);
    auto it = workspaces().find({device, stream});
    if (it != workspaces().end()) {
      ws = it->second;
      workspaces().erase(it);
    }
  }
  CachingAllocator& allocator = device_allocator(device);
  if (ws != nullptr) allocator.free(ws);
  allocator.stream_destroyed(reinterpret_cast<StreamId>(stream));
}

void set_allow_tf32(bool allow) { settings().allow_tf32.store(allow); }
bool allow_tf32() { return settings().allow_tf32.load(); }

void set_conv2d_impl(Conv2dImpl impl) { settings().conv2d_impl.store(static_cast<int>(impl)); }
Conv2dImpl conv2d_impl() {
  int v = settings().conv2d_impl.load();
  if (v < 0) {
    int expected = -1;  // a concurrent set_conv2d_impl wins
    settings().conv2d_impl.compare_exchange_strong(expected, static_cast<int>(conv2d_impl_from_env()));
    v = settings().conv2d_impl.load();
  }
  return static_cast<Conv2dImpl>(v);
}

void set_embedding_deterministic(bool deterministic) { settings().embedding_deterministic.store(deterministic); }
bool embedding_deterministic() { return settings().embedding_deterministic.load(); }

}  // namespace kiln::cuda
