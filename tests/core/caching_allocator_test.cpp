// The CUDA caching allocator's pool logic, driven by a fake device on the CPU:
// rounding, per-stream reuse, best fit, split/merge, statistics, empty_cache,
// cross-stream events, and the out-of-memory retry and message. The same
// code runs under the real cudaMalloc in tests/cuda/allocator_cuda_test.cpp.
#include <gtest/gtest.h>

#include <cstdlib>
#include <map>
#include <set>

#include "cuda/caching_allocator.h"

namespace {

using kiln::cuda::CachingAllocator;
using kiln::cuda::DeviceMemory;
using kiln::cuda::EventId;
using kiln::cuda::PinnedHostPool;
using kiln::cuda::StreamId;

constexpr size_t kMiB = 1 << 20;
constexpr StreamId kStreamA = 1;
constexpr StreamId kStreamB = 2;

// State the test inspects after handing the fake to an allocator.
struct FakeState {
  size_t capacity = 1ull << 30;
  size_t used = 0;
  int mallocs = 0;
  int frees = 0;
  std::map<void*, size_t> blocks;
  std::map<EventId, bool> events;  // id -> completed
  std::map<EventId, StreamId> event_stream;
  EventId next_event = 1;
  int waits = 0;
  std::set<StreamId> destroyed;  // cudaEventRecord on these fails
  void complete_all_events() {
    for (auto& kv : events) kv.second = true;
  }
};

class FakeDevice : public DeviceMemory {
 public:
  explicit FakeDevice(std::shared_ptr<FakeState> s) : s_(std::move(s)) {}
  void* raw_malloc(size_t n) override {
    if (s_->used + n > s_->capacity) return nullptr;
    void* p = std::aligned_alloc(512, n);
    s_->used += n;
    s_->mallocs += 1;
    s_->blocks[p] = n;
    return p;
  }
  void raw_free(void* p) override {
    s_->used -= s_->blocks.at(p);
    s_->blocks.erase(p);
    s_->frees += 1;
    std::free(p);
  }
  void mem_get_info(size_t* free_b, size_t* total_b) override {
    *free_b = s_->capacity - s_->used;
    *total_b = s_->capacity;
  }
  EventId record_event(StreamId stream) override {
    if (s_->destroyed.count(stream)) throw kiln::CudaError("cudaEventRecord: invalid resource handle (stream destroyed)");
    EventId e = s_->next_event++;
    s_->events[e] = false;
    s_->event_stream[e] = stream;
    return e;
  }
  bool event_done(EventId e) override { return s_->events.at(e); }
  void event_wait(EventId e) override {
    s_->waits += 1;
    s_->events.at(e) = true;  // waiting lets the "device" finish the work
  }
  void event_destroy(EventId e) override { s_->events.erase(e); }
  std::string device_name() override { return "fake:0"; }

 private:
  std::shared_ptr<FakeState> s_;
};

struct Pool {
  std::shared_ptr<FakeState> state = std::make_shared<FakeState>();
  CachingAllocator alloc{std::make_unique<FakeDevice>(state)};
};

char* as_bytes(void* p) { return static_cast<char*>(p); }

TEST(CachingAllocator, RoundsRequestsUpTo512ByteMultiples) {
  Pool pool;
  void* a = pool.alloc.allocate(1, kStreamA);
  void* b = pool.alloc.allocate(513, kStreamA);
  EXPECT_EQ(pool.alloc.block_size(a), 512u);
  EXPECT_EQ(pool.alloc.block_size(b), 1024u);
  auto s = pool.alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 1536u);
  EXPECT_EQ(s.requested_bytes, 514u);
  EXPECT_EQ(s.reserved_bytes, 2 * kMiB);  // one small segment
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.active_blocks, 2u);
  pool.alloc.free(a);
  pool.alloc.free(b);
}

TEST(CachingAllocator, ZeroBytesGivesNullAndTouchesNothing) {
  Pool pool;
  EXPECT_EQ(pool.alloc.allocate(0, kStreamA), nullptr);
  EXPECT_EQ(pool.state->mallocs, 0);
  pool.alloc.free(nullptr);
}

TEST(CachingAllocator, SegmentSizesFollowTheSmallMidAndLargeClasses) {
  EXPECT_EQ(kiln::cuda::segment_size_for(512), 2 * kMiB);
  EXPECT_EQ(kiln::cuda::segment_size_for(kMiB), 2 * kMiB);
  EXPECT_EQ(kiln::cuda::segment_size_for(kMiB + 512), 20 * kMiB);
  EXPECT_EQ(kiln::cuda::segment_size_for(10 * kMiB), 10 * kMiB);
  EXPECT_EQ(kiln::cuda::segment_size_for(11 * kMiB + 512), 12 * kMiB);
}

TEST(CachingAllocator, ReusesAFreedBlockOnTheSameStreamWithoutADeviceMalloc) {
  Pool pool;
  void* a = pool.alloc.allocate(1000, kStreamA);
  pool.alloc.free(a);
  void* b = pool.alloc.allocate(1000, kStreamA);
  EXPECT_EQ(a, b);
  EXPECT_EQ(pool.state->mallocs, 1);
  EXPECT_EQ(pool.alloc.stats().num_cuda_mallocs, 1u);
  pool.alloc.free(b);
}

TEST(CachingAllocator, DoesNotHandABlockFreedOnOneStreamToAnother) {
  Pool pool;
  void* a = pool.alloc.allocate(1000, kStreamA);
  pool.alloc.free(a);
  void* b = pool.alloc.allocate(1000, kStreamB);
  EXPECT_NE(a, b);
  EXPECT_EQ(pool.state->mallocs, 2);
  pool.alloc.free(b);
}

TEST(CachingAllocator, SplitsASmallSegmentAndMergesFreedNeighbours) {
  Pool pool;
  void* a = pool.alloc.allocate(512, kStreamA);
  void* b = pool.alloc.allocate(512, kStreamA);
  void* c = pool.alloc.allocate(512, kStreamA);
  EXPECT_EQ(as_bytes(b), as_bytes(a) + 512);
  EXPECT_EQ(as_bytes(c), as_bytes(b) + 512);
  EXPECT_EQ(pool.state->mallocs, 1);
  pool.alloc.free(b);  // a and c still in use: b stays separate from the tail
  EXPECT_EQ(pool.alloc.stats().cached_blocks, 2u);
  pool.alloc.free(a);  // merges with b
  EXPECT_EQ(pool.alloc.stats().cached_blocks, 2u);
  pool.alloc.free(c);  // merges a+b, c and the tail into the whole segment
  EXPECT_EQ(pool.alloc.stats().cached_blocks, 1u);
  void* whole = pool.alloc.allocate(kMiB, kStreamA);  // fits only if merged
  EXPECT_EQ(whole, a);
  EXPECT_EQ(pool.state->mallocs, 1);
  pool.alloc.free(whole);
}

TEST(CachingAllocator, MidSizeRequestsShareA20MiBSegment) {
  Pool pool;
  void* a = pool.alloc.allocate(3 * kMiB, kStreamA);
  void* b = pool.alloc.allocate(3 * kMiB, kStreamA);
  EXPECT_EQ(as_bytes(b), as_bytes(a) + 3 * kMiB);
  EXPECT_EQ(pool.alloc.stats().reserved_bytes, 20 * kMiB);
  pool.alloc.free(a);
  pool.alloc.free(b);
  void* big = pool.alloc.allocate(15 * kMiB, kStreamA);  // the merged segment serves it
  EXPECT_EQ(big, a);
  EXPECT_EQ(pool.state->mallocs, 1);
  pool.alloc.free(big);
}

TEST(CachingAllocator, BestFitTakesTheSmallestFreeBlockThatFits) {
  Pool pool;
  void* x = pool.alloc.allocate(4096, kStreamA);
  void* sep1 = pool.alloc.allocate(512, kStreamA);
  void* y = pool.alloc.allocate(1024, kStreamA);
  void* sep2 = pool.alloc.allocate(512, kStreamA);
  pool.alloc.free(x);
  pool.alloc.free(y);
  EXPECT_EQ(pool.alloc.allocate(1000, kStreamA), y);
  EXPECT_EQ(pool.alloc.allocate(3000, kStreamA), x);
  for (void* p : {x, y, sep1, sep2}) pool.alloc.free(p);
}

TEST(CachingAllocator, LargeRequestGetsItsOwnSegmentRoundedTo2MiB) {
  Pool pool;
  void* p = pool.alloc.allocate(11 * kMiB + 1, kStreamA);
  EXPECT_EQ(pool.alloc.stats().reserved_bytes, 12 * kMiB);
  EXPECT_EQ(pool.state->used, 12 * kMiB);
  pool.alloc.free(p);
}

TEST(CachingAllocator, TracksPeakAllocatedAndResetsIt) {
  Pool pool;
  void* a = pool.alloc.allocate(4 * kMiB, kStreamA);
  void* b = pool.alloc.allocate(4 * kMiB, kStreamA);
  pool.alloc.free(b);
  auto s = pool.alloc.stats();
  EXPECT_EQ(s.allocated_bytes, 4 * kMiB);
  EXPECT_EQ(s.peak_allocated_bytes, 8 * kMiB);
  pool.alloc.reset_peak_stats();
  EXPECT_EQ(pool.alloc.stats().peak_allocated_bytes, 4 * kMiB);
  pool.alloc.free(a);
  EXPECT_EQ(pool.alloc.stats().allocated_bytes, 0u);
  EXPECT_EQ(pool.alloc.stats().requested_bytes, 0u);
}

TEST(CachingAllocator, EmptyCacheReleasesOnlyUnusedSegments) {
  Pool pool;
  void* small = pool.alloc.allocate(1000, kStreamA);     // 2 MiB segment, stays in use
  void* large = pool.alloc.allocate(12 * kMiB, kStreamA);  // own 12 MiB segment, freed
  pool.alloc.free(large);
  EXPECT_EQ(pool.alloc.stats().reserved_bytes, 14 * kMiB);
  pool.alloc.empty_cache();
  auto s = pool.alloc.stats();
  EXPECT_EQ(s.reserved_bytes, 2 * kMiB);
  EXPECT_EQ(s.segments, 1u);
  EXPECT_EQ(s.num_cuda_frees, 1u);
  EXPECT_EQ(pool.state->used, 2 * kMiB);
  pool.alloc.free(small);
  pool.alloc.empty_cache();
  EXPECT_EQ(pool.state->used, 0u);
  EXPECT_EQ(pool.alloc.stats().reserved_bytes, 0u);
}

TEST(CachingAllocator, BlockUsedOnAnotherStreamIsReusedOnlyAfterItsEventCompletes) {
  Pool pool;
  void* a = pool.alloc.allocate(1000, kStreamA);
  pool.alloc.record_stream(a, kStreamB);
  pool.alloc.free(a);
  ASSERT_EQ(pool.state->events.size(), 1u);
  EXPECT_EQ(pool.state->event_stream.begin()->second, kStreamB);
  void* b = pool.alloc.allocate(1000, kStreamA);
  EXPECT_NE(a, b);  // stream B may still be reading a
  pool.state->complete_all_events();
  void* c = pool.alloc.allocate(1000, kStreamA);
  EXPECT_EQ(a, c);
  EXPECT_TRUE(pool.state->events.empty());  // destroyed once done
  pool.alloc.free(b);
  pool.alloc.free(c);
}

// A stream (a kiln::cuda::Stream made by create()) destroyed while a block
// still lists it from record_stream: its work is finished, so the block
// needs no event for it, and one could not be recorded any more. Before
// stream_destroyed, free() threw here and the block was lost to the pool.
TEST(CachingAllocator, ABlockListingADestroyedStreamIsFreedWithoutLeaking) {
  Pool pool;
  void* a = pool.alloc.allocate(1000, kStreamA);
  pool.alloc.record_stream(a, kStreamB);
  pool.state->destroyed.insert(kStreamB);
  pool.alloc.stream_destroyed(kStreamB);
  EXPECT_NO_THROW(pool.alloc.free(a));
  EXPECT_TRUE(pool.state->events.empty());
  EXPECT_EQ(pool.alloc.stats().active_blocks, 0u);
  const size_t mallocs = pool.state->mallocs;
  EXPECT_EQ(pool.alloc.allocate(1000, kStreamA), a) << "the block went back to stream A's pool";
  EXPECT_EQ(pool.state->mallocs, mallocs);
  pool.alloc.free(a);
}

// Blocks allocated on a destroyed stream, cached or still in use, join the
// default stream's pool instead of waiting for a stream that will not ask again.
TEST(CachingAllocator, BlocksOfADestroyedStreamAreReusedOnTheDefaultStream) {
  Pool pool;
  void* cached = pool.alloc.allocate(1000, kStreamB);
  void* live = pool.alloc.allocate(3 * kMiB, kStreamB);
  pool.alloc.free(cached);
  pool.state->destroyed.insert(kStreamB);
  pool.alloc.stream_destroyed(kStreamB);
  const size_t mallocs = pool.state->mallocs;
  EXPECT_EQ(pool.alloc.allocate(1000, 0), cached);
  pool.alloc.free(live);
  EXPECT_EQ(pool.alloc.allocate(3 * kMiB, 0), live);
  EXPECT_EQ(pool.state->mallocs, mallocs);
  pool.alloc.free(cached);
  pool.alloc.free(live);
  pool.alloc.empty_cache();
  EXPECT_EQ(pool.state->used, 0u) << "every segment could be given back";
}

TEST(CachingAllocator, RecordStreamOnTheAllocationStreamRecordsNoEvent) {
  Pool pool;
  void* a = pool.alloc.allocate(1000, kStreamA);
  pool.alloc.record_stream(a, kStreamA);
  pool.alloc.free(a);
  EXPECT_TRUE(pool.state->events.empty());
  EXPECT_EQ(pool.alloc.allocate(1000, kStreamA), a);
  pool.alloc.free(a);
}

TEST(CachingAllocator, RecordStreamOfAForeignPointerThrowsValueError) {
  Pool pool;
  int x = 0;
  EXPECT_THROW(pool.alloc.record_stream(&x, kStreamB), kiln::ValueError);
}

TEST(CachingAllocator, EmptyCacheWaitsForPendingEventsThenReleases) {
  Pool pool;
  void* a = pool.alloc.allocate(12 * kMiB, kStreamA);
  pool.alloc.record_stream(a, kStreamB);
  pool.alloc.free(a);
  pool.alloc.empty_cache();
  EXPECT_EQ(pool.state->waits, 1);
  EXPECT_EQ(pool.state->used, 0u);
}

TEST(CachingAllocator, OutOfMemoryFreesTheCacheAndRetriesOnce) {
  Pool pool;
  pool.state->capacity = 30 * kMiB;
  void* a = pool.alloc.allocate(15 * kMiB, kStreamA);  // 16 MiB segment
  pool.alloc.free(a);                                  // cached, still reserved
  void* b = pool.alloc.allocate(20 * kMiB, kStreamA);  // 16 + 20 > 30: must release a's segment
  EXPECT_NE(b, nullptr);
  auto s = pool.alloc.stats();
  EXPECT_EQ(s.num_alloc_retries, 1u);
  EXPECT_EQ(s.num_cuda_frees, 1u);
  EXPECT_EQ(s.num_ooms, 0u);
  EXPECT_EQ(s.reserved_bytes, 20 * kMiB);
  pool.alloc.free(b);
}

TEST(CachingAllocator, OutOfMemoryAfterRetryThrowsWithTheFigures) {
  Pool pool;
  pool.state->capacity = 30 * kMiB;
  void* held = pool.alloc.allocate(4 * kMiB, kStreamA);
  const size_t huge = 1ull << 30;
  try {
    pool.alloc.allocate(huge, kStreamA);
    FAIL() << "expected OutOfMemoryError";
  } catch (const kiln::cuda::OutOfMemoryError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("fake:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("1.00 GiB (1073741824 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("10.00 MiB free of 30.00 MiB total"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4.00 MiB allocated in 1 blocks"), std::string::npos) << msg;
    EXPECT_NE(msg.find("20.00 MiB reserved in 1 segments"), std::string::npos) << msg;
    EXPECT_NE(msg.find("retried once"), std::string::npos) << msg;
  }
  auto s = pool.alloc.stats();
  EXPECT_EQ(s.num_alloc_retries, 1u);
  EXPECT_EQ(s.num_ooms, 1u);
  // The allocator is still usable and the live block untouched.
  EXPECT_EQ(s.allocated_bytes, 4 * kMiB);
  pool.alloc.free(held);
}

TEST(CachingAllocator, OutOfMemoryErrorIsAKilnCudaError) {
  Pool pool;
  pool.state->capacity = kMiB;  // not even a small segment fits
  EXPECT_THROW(pool.alloc.allocate(100, kStreamA), kiln::CudaError);
  EXPECT_THROW(pool.alloc.allocate(100, kStreamA), kiln::Error);
}

// --- pinned host pool ------------------------------------------------------------

struct HostPool {
  std::shared_ptr<FakeState> state = std::make_shared<FakeState>();
  PinnedHostPool pool{std::make_unique<FakeDevice>(state)};
};

TEST(PinnedHostPool, ReusesAFreedBufferOfTheSameRoundedSize) {
  HostPool h;
  void* a = h.pool.allocate(3000);  // rounds to 4096
  h.pool.free(a);
  EXPECT_EQ(h.pool.allocate(4000), a);
  EXPECT_EQ(h.state->mallocs, 1);
  void* b = h.pool.allocate(5000);  // 8192: a new buffer
  EXPECT_NE(a, b);
  EXPECT_EQ(h.state->mallocs, 2);
  h.pool.free(a);
  h.pool.free(b);
}

TEST(PinnedHostPool, BufferWithPendingCopiesIsReusedOnlyAfterTheirEventsComplete) {
  HostPool h;
  void* a = h.pool.allocate(4096);
  h.pool.record_use(as_bytes(a) + 100, kStreamA);  // interior pointers count
  h.pool.free(a);
  void* b = h.pool.allocate(4096);
  EXPECT_NE(a, b);
  h.state->complete_all_events();
  EXPECT_EQ(h.pool.allocate(4096), a);
  h.pool.free(a);
  h.pool.free(b);
}

TEST(PinnedHostPool, OwnsInteriorPointersAndEmptyCacheGivesBuffersBack) {
  HostPool h;
  void* a = h.pool.allocate(4096);
  EXPECT_TRUE(h.pool.owns(as_bytes(a) + 4095));
  int x = 0;
  EXPECT_FALSE(h.pool.owns(&x));
  h.pool.free(a);
  EXPECT_EQ(h.pool.cached_bytes(), 4096u);
  h.pool.empty_cache();
  EXPECT_EQ(h.pool.cached_bytes(), 0u);
  EXPECT_EQ(h.state->used, 0u);
}

TEST(PinnedHostPool, OutOfHostMemoryThrowsOutOfMemoryError) {
  HostPool h;
  h.state->capacity = 4096;
  EXPECT_THROW(h.pool.allocate(8192), kiln::cuda::OutOfMemoryError);
}

}  // namespace
