// kiln::cuda for a build without the CUDA backend (compiled instead of the
// rest of src/cuda): queries answer "nothing
// here", statistics are zeros, and whatever needs a device throws
// DeviceError saying why.
#include <atomic>

#include "kiln/core/error.h"
#include "kiln/core/tensor.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

namespace {
[[noreturn]] void no_device(const char* what) {
  throw DeviceError(detail::str_cat(what, ": ", unavailable_reason()));
}
// Settings are kept (a program may set them before finding there is no
// GPU); nothing reads them.
std::atomic<bool> g_allow_tf32{false};
std::atomic<int> g_conv2d_impl{static_cast<int>(Conv2dImpl::Auto)};
std::atomic<bool> g_embedding_deterministic{true};
}  // namespace

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return "kiln was built without CUDA (configure with -DKILN_CUDA=ON)"; }
DeviceProperties get_device_properties(int device) {
  throw DeviceError(detail::str_cat("get_device_properties(", device, "): ", unavailable_reason()));
}
void synchronize(int) {}
int current_device() { no_device("current_device"); }

// Streams and events: nothing can be created, so the accessors are unreachable
// through the public API but still defined.
struct Stream::Impl {};
struct Event::Impl {};
Stream Stream::create(int) { no_device("Stream::create"); }
Stream Stream::default_stream(int) { no_device("Stream::default_stream"); }
Stream Stream::current(int) { no_device("Stream::current"); }
int Stream::device() const { no_device("Stream::device"); }
void Stream::synchronize() const { no_device("Stream::synchronize"); }
bool Stream::query() const { no_device("Stream::query"); }
void Stream::wait(const Event&) const { no_device("Stream::wait"); }
void* Stream::native_handle() const { return nullptr; }
StreamGuard::StreamGuard(const Stream& stream) : previous_(stream), stream_(stream) { no_device("StreamGuard"); }
StreamGuard::~StreamGuard() = default;

Event::Event(bool) : impl_(std::make_shared<Impl>()) {}
void Event::record() { no_device("Event::record"); }
void Event::record(const Stream&) { no_device("Event::record"); }
void Event::synchronize() const {}
bool Event::query() const { return true; }  // never recorded: nothing pending
float Event::elapsed_time(const Event&) const { no_device("Event::elapsed_time"); }
bool Event::is_recorded() const { return false; }
void* Event::native_handle() const { return nullptr; }

MemoryStats memory_stats(int) { return {}; }
size_t memory_allocated(int) { return 0; }
size_t memory_reserved(int) { return 0; }
void empty_cache() {}
void reset_peak_memory_stats() {}
void record_stream(const Tensor&, const Stream&) { no_device("record_stream"); }
Tensor pin_memory(const Tensor&) { no_device("pin_memory"); }
bool is_pinned(const Tensor&) { return false; }

void set_allow_tf32(bool allow) { g_allow_tf32.store(allow); }
bool allow_tf32() { return g_allow_tf32.load(); }
void set_conv2d_impl(Conv2dImpl impl) { g_conv2d_impl.store(static_cast<int>(impl)); }
Conv2dImpl conv2d_impl() { return static_cast<Conv2dImpl>(g_conv2d_impl.load()); }
void set_embedding_deterministic(bool deterministic) { g_embedding_deterministic.store(deterministic); }
bool embedding_deterministic() { return g_embedding_deterministic.load(); }

}  // namespace kiln::cuda
