// Pool logic of the CUDA caching allocator and the pinned host pool (see
// caching_allocator.h for the design). No CUDA here: the device is reached
// only through DeviceMemory.
#include "cuda/caching_allocator.h"

#include <algorithm>
#include <cstdio>

namespace kiln::cuda {

namespace {

std::string format_bytes(size_t n) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(n);
  int u = 0;
  while (v >= 1024.0 && u < 4) {
    v /= 1024.0;
    ++u;
  }
  char buf[64];
  std::snprintf(buf, sizeof(buf), u == 0 ? "%.0f %s" : "%.2f %s", v, units[u]);
  return buf;
}

size_t round_up(size_t n, size_t multiple) { return (n + multiple - 1) / multiple * multiple; }

}  // namespace

size_t round_request(size_t nbytes) { return std::max(kMinBlockSize, round_up(nbytes, kMinBlockSize)); }

size_t segment_size_for(size_t rounded) {
  if (rounded <= kSmallRequest) return kSmallSegment;
  if (rounded < kMinOwnSegment) return kLargeSegment;
  return round_up(rounded, kLargeRounding);
}

// One contiguous range inside a segment. Blocks of a segment form a doubly
// linked list in address order; the head has prev == nullptr.
struct CachingAllocator::Block {
  char* ptr = nullptr;
  size_t size = 0;       // rounded, a multiple of kMinBlockSize
  size_t requested = 0;  // what the caller asked for (while allocated)
  StreamId stream = 0;   // the stream it was allocated on; its pool's key
  bool small = false;    // lives in the small pool
  bool allocated = false;  // handed out, or freed but waiting for events
  Block* prev = nullptr;
  Block* next = nullptr;
  std::set<StreamId> stream_uses;  // other streams that used it (record_stream)

  bool whole_segment() const { return prev == nullptr && next == nullptr; }
};

bool CachingAllocator::BlockLess::operator()(const Block* a, const Block* b) const {
  if (a->stream != b->stream) return a->stream < b->stream;
  if (a->size != b->size) return a->size < b->size;
  return reinterpret_cast<uintptr_t>(a->ptr) < reinterpret_cast<uintptr_t>(b->ptr);
}

CachingAllocator::CachingAllocator(std::unique_ptr<DeviceMemory> device) : device_(std::move(device)) {}

CachingAllocator::~CachingAllocator() {
  // Destructors never throw: a device that is already torn down is ignored.
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    process_pending_events(/*wait=*/true);
    release_cached_segments();
  } catch (...) {
  }
  for (auto& kv : live_) delete kv.second;
}

CachingAllocator::Block* CachingAllocator::best_fit(FreeSet& pool, StreamId stream, size_t rounded) {
  Block key;
  key.stream = stream;
  key.size = rounded;
  key.ptr = nullptr;
  auto it = pool.lower_bound(&key);
  if (it == pool.end() || (*it)->stream != stream) return nullptr;
  Block* b = *it;
  pool.erase(it);
  return b;
}

CachingAllocator::Block* CachingAllocator::new_segment(size_t rounded, StreamId stream) {
  const size_t size = segment_size_for(rounded);
  void* p = device_->raw_malloc(size);
  if (p == nullptr) return nullptr;
  auto* b = new Block;
  b->ptr = static_cast<char*>(p);
  b->size = size;
  b->stream = stream;
  b->small = rounded <= kSmallRequest;
  stats_.reserved_bytes += size;
  stats_.segments += 1;
  stats_.num_cuda_mallocs += 1;
  return b;
}

// Splitting a large block leaves a remainder only when it is worth keeping
// (more than a small request); small blocks split down to kMinBlockSize.
CachingAllocator::Block* CachingAllocator::split_if_worth_it(Block* block, size_t rounded) {
  const size_t remaining = block->size - rounded;
  const bool worth = block->small ? remaining >= kMinBlockSize : remaining > kSmallRequest;
  if (!worth) return block;
  auto* rest = new Block;
  rest->ptr = block->ptr + rounded;
  rest->size = remaining;
  rest->stream = block->stream;
  rest->small = block->small;
  rest->prev = block;
  rest->next = block->next;
  if (block->next) block->next->prev = rest;
  block->next = rest;
  block->size = rounded;
  (block->small ? small_free_ : large_free_).insert(rest);
  return block;
}

void CachingAllocator::return_to_pool(Block* block) {
  FreeSet& pool = block->small ? small_free_ : large_free_;
  block->allocated = false;
  block->requested = 0;
  block->stream_uses.clear();
  if (Block* prev = block->prev; prev && !prev->allocated) {
    pool.erase(prev);
    prev->size += block->size;
    prev->next = block->next;
    if (block->next) block->next->prev = prev;
    delete block;
    block = prev;
  }
  if (Block* next = block->next; next && !next->allocated) {
    pool.erase(next);
    block->size += next->size;
    block->next = next->next;
    if (next->next) next->next->prev = block;
    delete next;
  }
  pool.insert(block);
}

void CachingAllocator::process_pending_events(bool wait) {
  std::deque<PendingFree> still_pending;
  for (PendingFree& pf : pending_) {
    bool done = true;
    for (EventId e : pf.events) {
      if (wait) device_->event_wait(e);
      else if (!device_->event_done(e)) {
        done = false;
        break;
      }
    }
    if (!done) {
      still_pending.push_back(std::move(pf));
      continue;
    }
    for (EventId e : pf.events) device_->event_destroy(e);
    return_to_pool(pf.block);
  }
  pending_.swap(still_pending);
}

void CachingAllocator::release_cached_segments() {
  for (FreeSet* pool : {&small_free_, &large_free_}) {
    for (auto it = pool->begin(); it != pool->end();) {
      Block* b = *it;
      if (!b->whole_segment()) {
        ++it;
        continue;
      }
      device_->raw_free(b->ptr);
      stats_.reserved_bytes -= b->size;
      stats_.segments -= 1;
      stats_.num_cuda_frees += 1;
      it = pool->erase(it);
      delete b;
    }
  }
}

void CachingAllocator::update_peaks() {
  stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  stats_.peak_reserved_bytes = std::max(stats_.peak_reserved_bytes, stats_.reserved_bytes);
}

void* CachingAllocator::allocate(size_t nbytes, StreamId stream) {
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  process_pending_events(/*wait=*/false);
  const size_t rounded = round_request(nbytes);
  FreeSet& pool = pool_for(rounded);
  Block* b = best_fit(pool, stream, rounded);
  if (b == nullptr) {
    b = new_segment(rounded, stream);
    if (b == nullptr) {
      // Out of memory: give back everything cached (after pending events),
      // then try once more before giving up.
      stats_.num_alloc_retries += 1;
      process_pending_events(/*wait=*/true);
      release_cached_segments();
      b = best_fit(pool, stream, rounded);  // a pending block may have come back
      if (b == nullptr) b = new_segment(rounded, stream);
    }
    if (b == nullptr) {
      stats_.num_ooms += 1;
      throw OutOfMemoryError(oom_message(nbytes, rounded, segment_size_for(rounded)));
    }
  }
  b = split_if_worth_it(b, rounded);
  b->allocated = true;
  b->requested = nbytes;
  live_[b->ptr] = b;
  stats_.allocated_bytes += b->size;
  stats_.requested_bytes += nbytes;
  stats_.active_blocks += 1;
  update_peaks();
  return b->ptr;
}

void CachingAllocator::free(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  KILN_INTERNAL_ASSERT(it != live_.end(), "caching allocator: free of a pointer it did not allocate");
  Block* b = it->second;
  live_.erase(it);
  stats_.allocated_bytes -= b->size;
  stats_.requested_bytes -= b->requested;
  stats_.active_blocks -= 1;
  if (b->stream_uses.empty()) {
    return_to_pool(b);
    return;
  }
  PendingFree pf{b, {}};
  for (StreamId s : b->stream_uses) pf.events.push_back(device_->record_event(s));
  pending_.push_back(std::move(pf));
}

void CachingAllocator::record_stream(void* ptr, StreamId stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  KILN_CHECK(it != live_.end(), ValueError, "record_stream: the tensor's memory was not allocated by kiln's ",
             device_->device_name(), " caching allocator");
  if (stream != it->second->stream) it->second->stream_uses.insert(stream);
}

void CachingAllocator::stream_destroyed(StreamId stream) {
  constexpr StreamId kDefaultStream = 0;
  if (stream == kDefaultStream) return;
  std::lock_guard<std::mutex> lock(mutex_);
  for (auto& kv : live_) {
    Block* b = kv.second;
    b->stream_uses.erase(stream);
    if (b->stream == stream) b->stream = kDefaultStream;
  }
  // Blocks waiting for events keep their events (recorded before the
  // stream went, so they still complete); they return to the default pool.
  for (PendingFree& pf : pending_)
    if (pf.block->stream == stream) pf.block->stream = kDefaultStream;
  // Free blocks are keyed by stream: take them out, re-key, put them back.
  for (FreeSet* pool : {&small_free_, &large_free_}) {
    std::vector<Block*> moved;
    for (auto it = pool->begin(); it != pool->end();) {
      if ((*it)->stream == stream) {
        moved.push_back(*it);
        it = pool->erase(it);
      } else {
        ++it;
      }
    }
    for (Block* b : moved) {
      b->stream = kDefaultStream;
      pool->insert(b);
    }
  }
}

bool CachingAllocator::owns(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  return live_.count(ptr) != 0;
}

size_t CachingAllocator::block_size(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = live_.find(ptr);
  return it == live_.end() ? 0 : it->second->size;
}

void CachingAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  process_pending_events(/*wait=*/true);
  release_cached_segments();
}

MemoryStats CachingAllocator::stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  MemoryStats s = stats_;
  s.cached_blocks = small_free_.size() + large_free_.size();
  return s;
}

void CachingAllocator::reset_peak_stats() {
  std::lock_guard<std::mutex> lock(mutex_);
  stats_.peak_allocated_bytes = stats_.allocated_bytes;
  stats_.peak_reserved_bytes = stats_.reserved_bytes;
}

std::string CachingAllocator::oom_message(size_t nbytes, size_t rounded, size_t segment) {
  std::string device_mem;
  try {
    size_t free_b = 0, total_b = 0;
    device_->mem_get_info(&free_b, &total_b);
    device_mem = detail::str_cat(format_bytes(free_b), " free of ", format_bytes(total_b), " total");
  } catch (const std::exception& e) {
    device_mem = detail::str_cat("unknown (", e.what(), ")");
  }
  size_t cached = 0;
  for (FreeSet* pool : {&small_free_, &large_free_})
    for (Block* b : *pool) cached += b->size;
  return detail::str_cat(
      "CUDA out of memory on ", device_->device_name(), ": tried to allocate ", format_bytes(nbytes), " (", nbytes,
      " bytes, rounded to ", rounded, ", device allocation of ", format_bytes(segment), "). Device memory: ",
      device_mem, ". Allocator: ", format_bytes(stats_.allocated_bytes), " allocated in ", stats_.active_blocks,
      " blocks, ", format_bytes(stats_.reserved_bytes), " reserved in ", stats_.segments, " segments (",
      format_bytes(cached), " cached), peak allocated ", format_bytes(stats_.peak_allocated_bytes), ", ",
      stats_.num_cuda_mallocs, " device mallocs, ", stats_.num_alloc_retries, " retries after emptying the cache, ",
      stats_.num_ooms, " out-of-memory errors. The cache was emptied and the allocation retried once.");
}

// --- pinned host memory -----------------------------------------------------------

namespace {
size_t round_pinned(size_t nbytes) {
  size_t s = kMinBlockSize;
  while (s < nbytes) s <<= 1;  // powers of two: a few sizes, much reuse
  return s;
}
}  // namespace

PinnedHostPool::PinnedHostPool(std::unique_ptr<DeviceMemory> host) : host_(std::move(host)) {}

PinnedHostPool::~PinnedHostPool() {
  try {
    std::lock_guard<std::mutex> lock(mutex_);
    for (auto& kv : buffers_) {
      for (EventId e : kv.second.events) host_->event_destroy(e);
      if (!kv.second.in_use) host_->raw_free(kv.first);
    }
  } catch (...) {
  }
}

void PinnedHostPool::process_events() {
  std::vector<void*> still_waiting;
  for (void* p : waiting_) {
    Buffer& b = buffers_.at(p);
    bool done = std::all_of(b.events.begin(), b.events.end(), [&](EventId e) { return host_->event_done(e); });
    if (!done) {
      still_waiting.push_back(p);
      continue;
    }
    for (EventId e : b.events) host_->event_destroy(e);
    b.events.clear();
    free_[b.size].push_back(p);
  }
  waiting_.swap(still_waiting);
}

void* PinnedHostPool::allocate(size_t nbytes) {
  if (nbytes == 0) return nullptr;
  std::lock_guard<std::mutex> lock(mutex_);
  process_events();
  const size_t size = round_pinned(nbytes);
  auto& bucket = free_[size];
  if (!bucket.empty()) {
    void* p = bucket.back();
    bucket.pop_back();
    buffers_.at(p).in_use = true;
    return p;
  }
  void* p = host_->raw_malloc(size);
  if (p == nullptr) {
    // Give cached buffers back to the OS and try once more.
    for (auto& kv : free_) {
      for (void* q : kv.second) {
        host_->raw_free(q);
        buffers_.erase(q);
      }
      kv.second.clear();
    }
    p = host_->raw_malloc(size);
  }
  if (p == nullptr)
    throw OutOfMemoryError(detail::str_cat("pin_memory: cannot allocate ", nbytes, " bytes (", size,
                                           " rounded) of pinned host memory; ", in_use_bytes(),
                                           " bytes are pinned and in use"));
  Buffer b;
  b.size = size;
  b.in_use = true;
  buffers_[p] = b;
  return p;
}

void PinnedHostPool::free(void* ptr) {
  if (ptr == nullptr) return;
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = buffers_.find(ptr);
  KILN_INTERNAL_ASSERT(it != buffers_.end() && it->second.in_use, "pinned pool: free of an unknown pointer");
  it->second.in_use = false;
  if (it->second.events.empty()) free_[it->second.size].push_back(ptr);
  else waiting_.push_back(ptr);
}

void PinnedHostPool::record_use(void* ptr, StreamId stream) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = buffers_.upper_bound(ptr);
  if (it == buffers_.begin()) return;
  --it;
  if (static_cast<char*>(ptr) >= static_cast<char*>(it->first) + it->second.size) return;
  auto& events = it->second.events;
  // Drop finished copies so a long-lived buffer does not collect events.
  events.erase(std::remove_if(events.begin(), events.end(),
                              [&](EventId e) {
                                if (!host_->event_done(e)) return false;
                                host_->event_destroy(e);
                                return true;
                              }),
               events.end());
  events.push_back(host_->record_event(stream));
}

bool PinnedHostPool::owns(void* ptr) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = buffers_.upper_bound(ptr);
  if (it == buffers_.begin()) return false;
  --it;
  return static_cast<char*>(ptr) < static_cast<char*>(it->first) + it->second.size;
}

void PinnedHostPool::empty_cache() {
  std::lock_guard<std::mutex> lock(mutex_);
  process_events();
  for (auto& kv : free_) {
    for (void* q : kv.second) {
      host_->raw_free(q);
      buffers_.erase(q);
    }
    kv.second.clear();
  }
}

size_t PinnedHostPool::cached_bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  size_t n = 0;
  for (auto& kv : buffers_)
    if (!kv.second.in_use) n += kv.second.size;
  return n;
}

size_t PinnedHostPool::allocated_bytes() {
  std::lock_guard<std::mutex> lock(mutex_);
  return in_use_bytes();
}

size_t PinnedHostPool::in_use_bytes() const {
  size_t n = 0;
  for (auto& kv : buffers_)
    if (kv.second.in_use) n += kv.second.size;
  return n;
}

}  // namespace kiln::cuda
