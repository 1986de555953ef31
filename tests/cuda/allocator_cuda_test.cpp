// The CUDA caching allocator, streams, events and pinned memory on a real
// device, through the public API. Skipped without a GPU, except the tests
// that pin down what happens when there is none.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cstdlib>
#include <string>

namespace {

using kiln::Device;
using kiln::Tensor;
namespace kc = kiln::cuda;

constexpr size_t kMiB = 1 << 20;

#define SKIP_WITHOUT_GPU() \
  if (!kc::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kc::unavailable_reason()

kiln::TensorOptions on_gpu(kiln::DType dtype = kiln::kFloat32) { return kiln::TensorOptions(dtype).device(Device("cuda:0")); }

TEST(CudaAllocator, AllocatedBytesGrowByTheRoundedTensorSizeAndShrinkOnFree) {
  SKIP_WITHOUT_GPU();
  const size_t before = kc::memory_allocated(0);
  {
    Tensor t = kiln::empty({1000}, on_gpu());  // 4000 B -> 4096 B block
    EXPECT_EQ(kc::memory_allocated(0), before + 4096);
    EXPECT_GE(kc::memory_reserved(0), kc::memory_allocated(0));
  }
  EXPECT_EQ(kc::memory_allocated(0), before);
}

TEST(CudaAllocator, FreedTensorMemoryIsReusedWithoutANewCudaMalloc) {
  SKIP_WITHOUT_GPU();
  kc::empty_cache();  // no leftover free blocks that best fit could prefer
  void* first = nullptr;
  {
    Tensor t = kiln::empty({3 * kMiB / 4}, on_gpu());
    first = t.raw_data_ptr();
  }
  const size_t mallocs = kc::memory_stats(0).num_cuda_mallocs;
  Tensor t = kiln::empty({3 * kMiB / 4}, on_gpu());
  EXPECT_EQ(t.raw_data_ptr(), first);
  EXPECT_EQ(kc::memory_stats(0).num_cuda_mallocs, mallocs);
}

TEST(CudaAllocator, EmptyCacheGivesUnusedSegmentsBackAndPeakResets) {
  SKIP_WITHOUT_GPU();
  { Tensor big = kiln::empty({64 * kMiB}, on_gpu(kiln::kUInt8)); }
  EXPECT_GE(kc::memory_stats(0).peak_allocated_bytes, 64 * kMiB);
  EXPECT_GE(kc::memory_reserved(0), 64 * kMiB);
  kc::empty_cache();
  EXPECT_LT(kc::memory_reserved(0), 64 * kMiB);
  kc::reset_peak_memory_stats();
  EXPECT_EQ(kc::memory_stats(0).peak_allocated_bytes, kc::memory_allocated(0));
}

TEST(CudaAllocator, HugeRequestThrowsOutOfMemoryErrorStatingTheFigures) {
  SKIP_WITHOUT_GPU();
  const auto before = kc::memory_stats(0);
  try {
    Tensor t = kiln::empty({int64_t(1) << 42}, on_gpu(kiln::kUInt8));  // 4 TiB
    FAIL() << "expected OutOfMemoryError";
  } catch (const kc::OutOfMemoryError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("cuda:0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("4.00 TiB (4398046511104 bytes"), std::string::npos) << msg;
    EXPECT_NE(msg.find(" total"), std::string::npos) << msg;
    EXPECT_NE(msg.find("reserved"), std::string::npos) << msg;
    EXPECT_NE(msg.find("retried once"), std::string::npos) << msg;
  }
  const auto after = kc::memory_stats(0);
  EXPECT_EQ(after.num_ooms, before.num_ooms + 1);
  EXPECT_EQ(after.num_alloc_retries, before.num_alloc_retries + 1);
  // The device is still usable afterwards.
  Tensor small = kiln::empty({16}, on_gpu());
  EXPECT_TRUE(small.is_cuda());
}

TEST(CudaAllocator, OutOfMemoryErrorIsCatchableAsKilnError) {
  SKIP_WITHOUT_GPU();
  EXPECT_THROW(kiln::empty({int64_t(1) << 42}, on_gpu(kiln::kUInt8)), kiln::Error);
}

TEST(CudaTransfer, RoundTripThroughTheGpuKeepsValues) {
  SKIP_WITHOUT_GPU();
  Tensor x = kiln::arange(0, 1000, 1, kiln::kFloat32);
  Tensor back = x.to(Device("cuda:0")).cpu();
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
}

TEST(CudaTransfer, NonBlockingCopiesFromPinnedMemoryKeepValues) {
  SKIP_WITHOUT_GPU();
  Tensor x = kiln::arange(0, 4096, 1, kiln::kFloat32);
  Tensor pinned = kc::pin_memory(x);
  EXPECT_TRUE(kc::is_pinned(pinned));
  EXPECT_FALSE(kc::is_pinned(x));
  Tensor g = pinned.to(Device("cuda:0"), /*non_blocking=*/true);
  pinned = Tensor();  // the buffer must survive until the copy has read it
  Tensor again = kc::pin_memory(kiln::zeros({4096}));  // may not reuse it early
  kc::synchronize(0);
  EXPECT_EQ(g.cpu().to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(again.to_vector<float>(), std::vector<float>(4096, 0.0f));
}

TEST(CudaStreams, StreamGuardSetsAndRestoresTheCurrentStream) {
  SKIP_WITHOUT_GPU();
  const kc::Stream outer = kc::Stream::current(0);
  kc::Stream s = kc::Stream::create(0);
  {
    kc::StreamGuard guard(s);
    EXPECT_EQ(kc::Stream::current(0), s);
    EXPECT_NE(kc::Stream::current(0), kc::Stream::default_stream(0));
  }
  EXPECT_EQ(kc::Stream::current(0), outer);
}

TEST(CudaStreams, WorkOnACreatedStreamFinishesAfterSynchronize) {
  SKIP_WITHOUT_GPU();
  kc::Stream s = kc::Stream::create(0);
  Tensor x = kiln::arange(0, 1 << 20, 1, kiln::kFloat32);
  Tensor g;
  {
    kc::StreamGuard guard(s);
    g = x.to(Device("cuda:0"));
  }
  s.synchronize();
  EXPECT_TRUE(s.query());
  EXPECT_EQ(g.cpu().to_vector<float>(), x.to_vector<float>());
}

TEST(CudaEvents, ElapsedTimeBetweenTwoRecordedEventsIsNonNegative) {
  SKIP_WITHOUT_GPU();
  kc::Event start(true), end(true);
  start.record();
  Tensor g = kiln::zeros({1 << 20}).to(Device("cuda:0"));
  end.record();
  end.synchronize();
  EXPECT_TRUE(end.query());
  EXPECT_GE(start.elapsed_time(end), 0.0f);
}

TEST(CudaEvents, ElapsedTimeWithoutTimingThrowsValueError) {
  SKIP_WITHOUT_GPU();
  kc::Event a, b;
  a.record();
  b.record();
  EXPECT_THROW(a.elapsed_time(b), kiln::ValueError);
}

TEST(CudaEvents, StreamWaitsForAnEventOnAnotherStream) {
  SKIP_WITHOUT_GPU();
  kc::Stream producer = kc::Stream::create(0), consumer = kc::Stream::create(0);
  Tensor x = kiln::arange(0, 1 << 16, 1, kiln::kFloat32);
  Tensor g;
  kc::Event ready;
  {
    kc::StreamGuard guard(producer);
    g = x.to(Device("cuda:0"));
    ready.record(producer);
    kc::record_stream(g, consumer);
  }
  consumer.wait(ready);
  Tensor back;
  {
    kc::StreamGuard guard(consumer);
    back = g.cpu();
  }
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
}

// --- without a GPU ----------------------------------------------------------------

TEST(CudaWithoutGpu, MemoryStatsAreZeros) {
  if (kc::is_available()) GTEST_SKIP() << "a GPU is present";
  const auto s = kc::memory_stats();
  EXPECT_EQ(s.allocated_bytes, 0u);
  EXPECT_EQ(s.reserved_bytes, 0u);
  EXPECT_EQ(kc::memory_allocated(), 0u);
  kc::empty_cache();  // harmless
  kc::reset_peak_memory_stats();
}

TEST(CudaWithoutGpu, PinMemoryAndStreamsThrowDeviceErrorSayingWhy) {
  if (kc::is_available()) GTEST_SKIP() << "a GPU is present";
  EXPECT_THROW(kc::pin_memory(kiln::zeros({4})), kiln::DeviceError);
  EXPECT_FALSE(kc::is_pinned(kiln::zeros({4})));
  try {
    kc::Stream::create();
    FAIL() << "expected DeviceError";
  } catch (const kiln::DeviceError& e) {
    EXPECT_NE(std::string(e.what()).find(kc::unavailable_reason()), std::string::npos) << e.what();
  }
}

TEST(CudaMathModes, AllowTf32RoundTrips) {
  const bool old = kc::allow_tf32();
  kc::set_allow_tf32(true);
  EXPECT_TRUE(kc::allow_tf32());
  kc::set_allow_tf32(false);
  EXPECT_FALSE(kc::allow_tf32());
  kc::set_allow_tf32(old);
}

// Runs with or without a GPU: the choice is a setting of the CUDA backend,
// measured per shape by default.
TEST(CudaMathModes, Conv2dImplDefaultsToMeasuringAndRoundTrips) {
  const kc::Conv2dImpl old = kc::conv2d_impl();
  if (std::getenv("KILN_CONV_IMPL") == nullptr) {
    EXPECT_EQ(old, kc::Conv2dImpl::Auto);
  }
  for (kc::Conv2dImpl impl : {kc::Conv2dImpl::Kiln, kc::Conv2dImpl::CuDNN, kc::Conv2dImpl::Auto}) {
    kc::set_conv2d_impl(impl);
    EXPECT_EQ(kc::conv2d_impl(), impl);
  }
  kc::set_conv2d_impl(old);
}

}  // namespace
