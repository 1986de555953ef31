// The caching allocator's pool logic, free of CUDA so that it is tested on a
// machine without a GPU (tests/core/caching_allocator_test.cpp drives it with
// a fake device). src/cuda/cuda_allocator.cpp plugs in cudaMalloc, events and
// cudaMemGetInfo.
//
// Design (the shape of PyTorch's, our own code):
// - Requests round up to 512 B. Requests up to 1 MiB come from the small
//   pool, carved out of 2 MiB segments; larger ones from the large pool,
//   carved out of 20 MiB segments when under 10 MiB, else from a segment of
//   their own size rounded up to 2 MiB.
// - Free blocks are kept per (stream, pool) and found best-fit (smallest
//   block that fits, ties by address). A block larger than needed is split;
//   freed blocks merge with free neighbours of the same segment.
// - A block freed is reusable right away on the stream it was allocated on
//   (work there is ordered). If other streams used it (record_stream), an
//   event is recorded on each; it returns to its pool when all have completed.
//   A stream destroyed meanwhile is dropped from those lists, and its pool
//   joins the default stream's (stream_destroyed).
// - When the device is out of memory, cached free segments are given back
//   and the allocation is retried once; then OutOfMemoryError is thrown with
//   the request, the device's free/total memory and these statistics.
#pragma once
#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "kiln/cuda.h"

namespace kiln::cuda {

using StreamId = uintptr_t;  // a cudaStream_t as an integer
using EventId = uintptr_t;   // a cudaEvent_t as an integer

// What the pool needs from a device. The CUDA one wraps cudaMalloc & co; the
// tests use a fake on the CPU.
class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  // nullptr when the device is out of memory; throws on any other failure.
  virtual void* raw_malloc(size_t nbytes) = 0;
  virtual void raw_free(void* ptr) = 0;
  virtual void mem_get_info(size_t* free_bytes, size_t* total_bytes) = 0;
  // An event recorded now on `stream`, later queried, waited and destroyed.
  virtual EventId record_event(StreamId stream) = 0;
  virtual bool event_done(EventId event) = 0;
  virtual void event_wait(EventId event) = 0;
  virtual void event_destroy(EventId event) = 0;
  virtual std::string device_name() = 0;  // "cuda:0", for messages
};

constexpr size_t kMinBlockSize = 512;                  // every size is a multiple
constexpr size_t kSmallRequest = 1 << 20;              // <= this: small pool
constexpr size_t kSmallSegment = 2 << 20;              // small pool segment size
constexpr size_t kLargeSegment = 20 << 20;             // shared segment for mid-size requests
constexpr size_t kMinOwnSegment = 10 << 20;            // >= this: a segment of its own
constexpr size_t kLargeRounding = 2 << 20;             // own segments round to this

size_t round_request(size_t nbytes);          // to a multiple of kMinBlockSize (at least one)
size_t segment_size_for(size_t rounded);      // device allocation size for a request

class CachingAllocator {
 public:
  explicit CachingAllocator(std::unique_ptr<DeviceMemory> device);
  ~CachingAllocator();  // gives every segment back; blocks still in use leak on purpose
  CachingAllocator(const CachingAllocator&) = delete;
  CachingAllocator& operator=(const CachingAllocator&) = delete;

  // A block of at least nbytes usable on `stream` (nullptr for nbytes == 0).
  void* allocate(size_t nbytes, StreamId stream);
  void free(void* ptr);
  // `ptr` (a live allocation) is also used by work on `stream`.
  void record_stream(void* ptr, StreamId stream);
  // `stream` is being destroyed after all its work finished (the caller
  // synchronised it): live blocks stop listing it (no event can be recorded
  // on it any more, and none is needed), and the blocks allocated on it,
  // free or live, move to the legacy default stream's pool (stream 0), so
  // none is stranded in a pool no stream will ask again.
  void stream_destroyed(StreamId stream);
  bool owns(void* ptr);
  size_t block_size(void* ptr);  // rounded size of a live allocation

  void empty_cache();  // waits for pending events, gives unused segments back
  MemoryStats stats();
  void reset_peak_stats();
  DeviceMemory& device() { return *device_; }

 private:
  struct Block;
  struct BlockLess {
    bool operator()(const Block* a, const Block* b) const;
  };
  using FreeSet = std::set<Block*, BlockLess>;
  struct PendingFree {
    Block* block;
    std::vector<EventId> events;
  };

  FreeSet& pool_for(size_t rounded) { return rounded <= kSmallRequest ? small_free_ : large_free_; }
  Block* best_fit(FreeSet& pool, StreamId stream, size_t rounded);
  Block* new_segment(size_t rounded, StreamId stream);
  Block* split_if_worth_it(Block* block, size_t rounded);
  void return_to_pool(Block* block);  // merges with free neighbours
  void process_pending_events(bool wait);
  void release_cached_segments();
  std::string oom_message(size_t nbytes, size_t rounded, size_t segment);
  void update_peaks();

  std::unique_ptr<DeviceMemory> device_;
  std::mutex mutex_;
  FreeSet small_free_;
  FreeSet large_free_;
  std::unordered_map<void*, Block*> live_;  // allocations handed out
  std::deque<PendingFree> pending_;          // freed, waiting for other streams' events
  MemoryStats stats_;
};

// Page-locked host memory reused by size. A freed buffer that pending
// asynchronous copies still read or write is reused only after the events
// recorded for those copies complete. Also CUDA-free for testing.
class PinnedHostPool {
 public:
  explicit PinnedHostPool(std::unique_ptr<DeviceMemory> host);
  ~PinnedHostPool();
  PinnedHostPool(const PinnedHostPool&) = delete;
  PinnedHostPool& operator=(const PinnedHostPool&) = delete;

  void* allocate(size_t nbytes);
  void free(void* ptr);
  // An async copy using `ptr` was queued on `stream`.
  void record_use(void* ptr, StreamId stream);
  bool owns(void* ptr);  // true for any address inside a live or cached buffer
  void empty_cache();
  size_t cached_bytes();
  size_t allocated_bytes();

 private:
  struct Buffer {
    size_t size = 0;
    bool in_use = false;
    std::vector<EventId> events;  // copies that may still touch it
  };
  void process_events();
  size_t in_use_bytes() const;  // mutex_ held
  std::unique_ptr<DeviceMemory> host_;
  std::mutex mutex_;
  std::map<void*, Buffer> buffers_;                      // every buffer held, by address
  std::unordered_map<size_t, std::vector<void*>> free_;  // by size: ready for reuse
  std::vector<void*> waiting_;                           // freed, events pending
};

}  // namespace kiln::cuda
