// kiln::cuda::Stream, StreamGuard and Event: the public, CUDA-free handles
// over cudaStream_t / cudaEvent_t.
#include <cuda_runtime.h>

#include "cuda/context.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

struct Stream::Impl {
  int device = 0;
  cudaStream_t stream = nullptr;  // nullptr: the legacy default stream
  bool owned = false;             // made by Stream::create: destroyed with the last handle

  ~Impl() {
    if (!owned) return;
    // Destructors never throw. Queued work finishes first, so memory the
    // allocator cached for this stream is no longer in use by it.
    int prev = 0;
    cudaGetDevice(&prev);
    cudaSetDevice(device);
    cudaStreamSynchronize(stream);
    try {
      release_stream_resources(device, stream);
    } catch (...) {
    }
    cudaStreamDestroy(stream);
    cudaSetDevice(prev);
  }
};

struct Event::Impl {
  cudaEvent_t event = nullptr;  // created on the first record, on that stream's device
  int device = -1;
  bool timing = false;

  ~Impl() {
    if (event) cudaEventDestroy(event);
  }
};

Stream Stream::create(int device) {
  const int d = resolve_device(device, "Stream::create");
  DeviceGuard guard(d);
  auto impl = std::make_shared<Impl>();
  impl->device = d;
  // Non-blocking: kiln's streams never wait implicitly on the legacy default stream.
  KILN_CUDA_CHECK(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking));
  impl->owned = true;
  return Stream(std::move(impl));
}

Stream Stream::default_stream(int device) {
  auto impl = std::make_shared<Impl>();
  impl->device = resolve_device(device, "Stream::default_stream");
  return Stream(std::move(impl));
}

Stream Stream::current(int device) {
  auto impl = std::make_shared<Impl>();
  impl->device = resolve_device(device, "Stream::current");
  impl->stream = current_stream(impl->device);
  return Stream(std::move(impl));
}

int Stream::device() const { return impl_->device; }
void* Stream::native_handle() const { return impl_->stream; }

void Stream::synchronize() const {
  DeviceGuard guard(impl_->device);
  KILN_CUDA_CHECK(cudaStreamSynchronize(impl_->stream));
}

bool Stream::query() const {
  DeviceGuard guard(impl_->device);
  cudaError_t err = cudaStreamQuery(impl_->stream);
  if (err == cudaErrorNotReady) return false;
  KILN_CUDA_CHECK(err);
  return true;
}

void Stream::wait(const Event& event) const {
  if (!event.is_recorded()) return;  // nothing to wait for, as in PyTorch
  DeviceGuard guard(impl_->device);
  KILN_CUDA_CHECK(cudaStreamWaitEvent(impl_->stream, static_cast<cudaEvent_t>(event.native_handle()), 0));
}

StreamGuard::StreamGuard(const Stream& stream) : previous_(Stream::current(stream.device())), stream_(stream) {
  set_current_stream(stream.device(), static_cast<cudaStream_t>(stream.native_handle()));
}

StreamGuard::~StreamGuard() {
  set_current_stream(previous_.device(), static_cast<cudaStream_t>(previous_.native_handle()));
}

Event::Event(bool enable_timing) : impl_(std::make_shared<Impl>()) { impl_->timing = enable_timing; }

void Event::record() { record(Stream::current(-1)); }

void Event::record(const Stream& stream) {
  DeviceGuard guard(stream.device());
  if (impl_->event == nullptr) {
    KILN_CUDA_CHECK(cudaEventCreateWithFlags(&impl_->event,
                                             impl_->timing ? cudaEventDefault : cudaEventDisableTiming));
    impl_->device = stream.device();
  }
  KILN_CHECK(impl_->device == stream.device(), DeviceError, "Event::record: the event belongs to cuda:",
             impl_->device, " but the stream is on cuda:", stream.device());
  KILN_CUDA_CHECK(cudaEventRecord(impl_->event, static_cast<cudaStream_t>(stream.native_handle())));
}

void Event::synchronize() const {
  if (impl_->event) KILN_CUDA_CHECK(cudaEventSynchronize(impl_->event));
}

bool Event::query() const {
  if (impl_->event == nullptr) return true;
  cudaError_t err = cudaEventQuery(impl_->event);
  if (err == cudaErrorNotReady) return false;
  KILN_CUDA_CHECK(err);
  return true;
}

float Event::elapsed_time(const Event& end) const {
  KILN_CHECK(impl_->timing && end.impl_->timing, ValueError,
             "Event::elapsed_time: both events need enable_timing=true");
  KILN_CHECK(impl_->event && end.impl_->event, ValueError,
             "Event::elapsed_time: both events must be recorded first");
  float ms = 0;
  KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, impl_->event, end.impl_->event));
  return ms;
}

bool Event::is_recorded() const { return impl_->event != nullptr; }
void* Event::native_handle() const { return impl_->event; }

}  // namespace kiln::cuda
