// The caching allocator and pinned host pool plugged into CUDA: cudaMalloc,
// cudaHostAlloc, events, cudaMemGetInfo. Also the public memory API of
// kiln/cuda.h (statistics, empty_cache, record_stream, pin_memory).
#include <cuda_runtime.h>

#include <array>
#include <cstring>
#include <mutex>

#include "core/tensor_impl.h"
#include "cuda/caching_allocator.h"
#include "cuda/context.h"
#include "kiln/core/tensor.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

namespace {

// Events for both pools: created on the current device, without timing.
EventId record_cuda_event(StreamId stream) {
  cudaEvent_t e = nullptr;
  KILN_CUDA_CHECK(cudaEventCreateWithFlags(&e, cudaEventDisableTiming));
  KILN_CUDA_CHECK(cudaEventRecord(e, reinterpret_cast<cudaStream_t>(stream)));
  return reinterpret_cast<EventId>(e);
}
bool cuda_event_done(EventId id) {
  cudaError_t err = cudaEventQuery(reinterpret_cast<cudaEvent_t>(id));
  if (err == cudaErrorNotReady) return false;
  KILN_CUDA_CHECK(err);
  return true;
}

class CudaDeviceMemory final : public DeviceMemory {
 public:
  explicit CudaDeviceMemory(int device) : device_(device) {}
  void* raw_malloc(size_t nbytes) override {
    DeviceGuard guard(device_);
    void* p = nullptr;
    cudaError_t err = cudaMalloc(&p, nbytes);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();  // clear it, so the next call does not report it again
      return nullptr;
    }
    KILN_CUDA_CHECK(err);
    return p;
  }
  void raw_free(void* p) override {
    DeviceGuard guard(device_);
    KILN_CUDA_CHECK(cudaFree(p));
  }
  void mem_get_info(size_t* free_b, size_t* total_b) override {
    DeviceGuard guard(device_);
    KILN_CUDA_CHECK(cudaMemGetInfo(free_b, total_b));
  }
  EventId record_event(StreamId stream) override {
    DeviceGuard guard(device_);
    return record_cuda_event(stream);
  }
  bool event_done(EventId e) override { return cuda_event_done(e); }
  void event_wait(EventId e) override { KILN_CUDA_CHECK(cudaEventSynchronize(reinterpret_cast<cudaEvent_t>(e))); }
  void event_destroy(EventId e) override { cudaEventDestroy(reinterpret_cast<cudaEvent_t>(e)); }
  std::string device_name() override { return detail::str_cat("cuda:", device_); }

 private:
  int device_;
};

class PinnedHostMemory final : public DeviceMemory {
 public:
  void* raw_malloc(size_t nbytes) override {
    void* p = nullptr;
    cudaError_t err = cudaHostAlloc(&p, nbytes, cudaHostAllocDefault);
    if (err == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      return nullptr;
    }
    KILN_CUDA_CHECK(err);
    return p;
  }
  void raw_free(void* p) override { KILN_CUDA_CHECK(cudaFreeHost(p)); }
  void mem_get_info(size_t* free_b, size_t* total_b) override { *free_b = *total_b = 0; }
  // Called from transfer() with the copy's device current.
  EventId record_event(StreamId stream) override { return record_cuda_event(stream); }
  bool event_done(EventId e) override { return cuda_event_done(e); }
  void event_wait(EventId e) override { KILN_CUDA_CHECK(cudaEventSynchronize(reinterpret_cast<cudaEvent_t>(e))); }
  void event_destroy(EventId e) override { cudaEventDestroy(reinterpret_cast<cudaEvent_t>(e)); }
  std::string device_name() override { return "pinned host memory"; }
};

constexpr int kMaxDevices = 64;
std::mutex g_allocators_mutex;
std::array<CachingAllocator*, kMaxDevices> g_allocators{};  // leaked on purpose: see context.h

CachingAllocator* existing_allocator(int device) {
  std::lock_guard<std::mutex> lock(g_allocators_mutex);
  return device >= 0 && device < kMaxDevices ? g_allocators[device] : nullptr;
}

}  // namespace

CachingAllocator& device_allocator(int device) {
  KILN_CHECK(device >= 0 && device < kMaxDevices, DeviceError, "caching allocator: device index ", device,
             " out of range");
  std::lock_guard<std::mutex> lock(g_allocators_mutex);
  if (g_allocators[device] == nullptr)
    g_allocators[device] = new CachingAllocator(std::make_unique<CudaDeviceMemory>(device));
  return *g_allocators[device];
}

PinnedHostPool& pinned_host_pool() {
  static auto* pool = new PinnedHostPool(std::make_unique<PinnedHostMemory>());
  return *pool;
}

// --- public memory API ----------------------------------------------------------

MemoryStats memory_stats(int device) {
  if (!is_available()) return {};
  const int d = resolve_device(device, "memory_stats");
  CachingAllocator* a = existing_allocator(d);
  return a ? a->stats() : MemoryStats{};
}

size_t memory_allocated(int device) { return memory_stats(device).allocated_bytes; }
size_t memory_reserved(int device) { return memory_stats(device).reserved_bytes; }

void empty_cache() {
  if (!is_available()) return;
  for (int d = 0; d < kMaxDevices; ++d)
    if (CachingAllocator* a = existing_allocator(d)) a->empty_cache();
  pinned_host_pool().empty_cache();
}

void reset_peak_memory_stats() {
  if (!is_available()) return;
  for (int d = 0; d < kMaxDevices; ++d)
    if (CachingAllocator* a = existing_allocator(d)) a->reset_peak_stats();
}

void record_stream(const Tensor& tensor, const Stream& stream) {
  KILN_CHECK(tensor.defined(), ValueError, "record_stream: called on an undefined tensor");
  KILN_CHECK(tensor.is_cuda(), DeviceError, "record_stream: the tensor must be on a CUDA device, got ",
             tensor.device());
  KILN_CHECK(tensor.device().index() == stream.device(), DeviceError, "record_stream: the tensor is on ",
             tensor.device(), " but the stream is on cuda:", stream.device());
  void* base = tensor.unsafe_impl()->storage->data;
  if (base == nullptr) return;  // empty tensor: nothing to protect
  device_allocator(stream.device()).record_stream(base, reinterpret_cast<StreamId>(stream.native_handle()));
}

bool is_pinned_pointer(const void* p) {
  if (p == nullptr || !is_available()) return false;
  if (pinned_host_pool().owns(const_cast<void*>(p))) return true;
  cudaPointerAttributes attr{};
  if (cudaPointerGetAttributes(&attr, p) != cudaSuccess) {
    cudaGetLastError();
    return false;
  }
  return attr.type == cudaMemoryTypeHost;
}

bool is_pinned(const Tensor& tensor) {
  return tensor.defined() && tensor.device().is_cpu() && is_pinned_pointer(tensor.unsafe_impl()->storage->data);
}

Tensor pin_memory(const Tensor& tensor) {
  KILN_CHECK(tensor.defined(), ValueError, "pin_memory: called on an undefined tensor");
  KILN_CHECK(tensor.device().is_cpu(), DeviceError, "pin_memory: only CPU tensors can be pinned, got one on ",
             tensor.device());
  KILN_CHECK(is_available(), DeviceError, "pin_memory: needs a CUDA driver and device: ", unavailable_reason());
  if (is_pinned(tensor)) return tensor;
  const Tensor src = tensor.contiguous();
  const size_t nbytes = static_cast<size_t>(src.numel()) * src.element_size();
  PinnedHostPool& pool = pinned_host_pool();
  void* p = pool.allocate(nbytes);
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = std::make_shared<detail::Storage>(p, nbytes, Device(kCPU), [](void* q) {
    try {
      pinned_host_pool().free(q);
    } catch (...) {  // destructors never throw
    }
  });
  impl->sizes = src.sizes();
  impl->strides = detail::contiguous_strides(src.sizes());
  impl->dtype = src.dtype();
  impl->numel = src.numel();
  if (nbytes) std::memcpy(p, src.raw_data_ptr(), nbytes);
  return Tensor(std::move(impl));
}

}  // namespace kiln::cuda
