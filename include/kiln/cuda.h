// kiln::cuda: device queries, streams, events, memory statistics and pinned
// host memory. Plain C++: no CUDA header is included, native handles are
// opaque pointers. Safe to call on machines without a GPU or without a CUDA
// build: is_available() is then false, device_count() 0, memory statistics
// are zeros, and calls that need a device throw DeviceError saying why.
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "kiln/core/error.h"

namespace kiln {
class Tensor;
}

namespace kiln::cuda {

// --- devices ------------------------------------------------------------------
bool is_built();       // the library was compiled with the CUDA backend
bool is_available();   // built, a driver is present, and at least one device
int device_count();
struct DeviceProperties {
  std::string name;
  int multiprocessors = 0;
  size_t total_memory = 0;
  int major = 0;
  int minor = 0;
};
DeviceProperties get_device_properties(int device);
void synchronize(int device = -1);  // -1: the current device
// Why is_available() is false, in words ("no CUDA build", "no driver", ...).
std::string unavailable_reason();
int current_device();  // the device this thread's CUDA calls go to

// --- errors ---------------------------------------------------------------------
// The caching allocator could not get memory even after releasing its cache.
// The message states the request, the device's free/total memory and the
// allocator's statistics.
class OutOfMemoryError : public CudaError {
 public:
  using CudaError::CudaError;
};

// --- streams and events ---------------------------------------------------------
class Event;

// A handle to a CUDA stream on one device. Copies share the stream; a stream
// made by create() is destroyed (after its queued work finishes) when the
// last handle goes.
class Stream {
 public:
  // A new stream that does not synchronise with the legacy default stream.
  static Stream create(int device = -1);
  // The legacy default stream of `device` (-1: current device).
  static Stream default_stream(int device = -1);
  // The stream ops on `device` enqueue to from this thread.
  static Stream current(int device = -1);

  int device() const;
  void synchronize() const;  // waits for all work queued so far
  bool query() const;        // true when all queued work has finished
  // Work queued on this stream after this call waits until `event` completes.
  void wait(const Event& event) const;
  void* native_handle() const;  // the cudaStream_t
  bool operator==(const Stream& o) const { return native_handle() == o.native_handle() && device() == o.device(); }
  bool operator!=(const Stream& o) const { return !(*this == o); }

  struct Impl;
  explicit Stream(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

 private:
  std::shared_ptr<Impl> impl_;
};

// Makes `stream` the current stream of its device on this thread for the
// guard's life, restoring the previous one afterwards.
class StreamGuard {
 public:
  explicit StreamGuard(const Stream& stream);
  ~StreamGuard();
  StreamGuard(const StreamGuard&) = delete;
  StreamGuard& operator=(const StreamGuard&) = delete;

 private:
  Stream previous_;
  Stream stream_;
};

// A CUDA event: a marker in a stream's queue.
class Event {
 public:
  explicit Event(bool enable_timing = false);
  void record();                      // on the current stream of the current device
  void record(const Stream& stream);
  void synchronize() const;           // waits until the recorded work is done
  bool query() const;                 // true when done (or never recorded)
  // Milliseconds from this event to `end`; both recorded with timing enabled.
  float elapsed_time(const Event& end) const;
  bool is_recorded() const;
  void* native_handle() const;  // the cudaEvent_t (null until first recorded)

  struct Impl;

 private:
  std::shared_ptr<Impl> impl_;
};

// --- memory ---------------------------------------------------------------------
// Byte figures of the caching allocator on one device. "Allocated" counts
// blocks handed to tensors (rounded sizes), "reserved" counts the segments
// held from the device (allocated + cached).
struct MemoryStats {
  size_t allocated_bytes = 0;
  size_t requested_bytes = 0;  // what callers asked for, before rounding
  size_t reserved_bytes = 0;
  size_t peak_allocated_bytes = 0;
  size_t peak_reserved_bytes = 0;
  size_t active_blocks = 0;      // blocks currently handed out
  size_t cached_blocks = 0;      // free blocks kept for reuse
  size_t segments = 0;           // device allocations currently held
  size_t num_cuda_mallocs = 0;   // device allocations made so far
  size_t num_cuda_frees = 0;     // device allocations given back so far
  size_t num_alloc_retries = 0;  // allocations that failed, emptied the cache and retried
  size_t num_ooms = 0;           // allocations that failed after the retry
};
MemoryStats memory_stats(int device = -1);
size_t memory_allocated(int device = -1);
size_t memory_reserved(int device = -1);
// Gives cached, unused segments back to the device (all devices).
void empty_cache();
// Peaks restart from the current figures (all devices).
void reset_peak_memory_stats();

// Marks that `tensor`'s memory is used by work on `stream` (other than the
// stream it was allocated on): when the tensor is freed, its block is reused
// only after that work is done.
void record_stream(const Tensor& tensor, const Stream& stream);

// A CPU tensor with the same values in page-locked (pinned) host memory, so
// that copies to and from the GPU can be asynchronous (to(device, true)).
Tensor pin_memory(const Tensor& tensor);
bool is_pinned(const Tensor& tensor);

// --- math modes and algorithm choices ------------------------------------------------
// float32 matmuls and convolutions may use TF32 tensor cores (10-bit
// mantissa inputs, f32 accumulation). Off by default, as in PyTorch.
void set_allow_tf32(bool allow);
bool allow_tf32();

// Which implementation runs a CUDA conv2d forward. Auto (the default): for
// each shape, the first call times cuDNN's fastest algorithm and kiln's
// hand-written implicit-GEMM kernel (kernels/conv2d.cu, where it applies:
// groups 1, f32/bf16/f16, contiguous NCHW) and keeps the faster for later
// calls. CuDNN and Kiln choose one for every shape (Kiln only where it
// applies, cuDNN elsewhere). The environment variable
// KILN_CONV_IMPL=auto|cudnn|kiln sets the value a process starts with.
enum class Conv2dImpl { Auto, CuDNN, Kiln };
void set_conv2d_impl(Conv2dImpl impl);
Conv2dImpl conv2d_impl();

// How a CUDA embedding backward adds gradient rows that share an id.
// Deterministic (the default): the ids are radix-sorted with their
// positions and each id's rows are summed in position order by one thread
// per column, so a run is meant to repeat bit for bit (compiled, not yet run on a
// GPU), at the cost of a sort of the
// N ids per backward (small next to the step). Off: float atomics into the
// gradient rows, whose order of additions varies from run to run.
void set_embedding_deterministic(bool deterministic);
bool embedding_deterministic();

}  // namespace kiln::cuda
