// The CPU backend's blocking fork-join pool (src/cpu/parallel.h) and its
// large-block allocation cache (src/cpu/cpu_backend.cpp).
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <stdexcept>
#include <vector>

#include "cpu/parallel.h"

using namespace kiln;

TEST(CpuParallelRun, RunsEveryThreadIndexExactlyOnce) {
  for (int threads : {1, 2, 3, 4}) {
    for (int repeat = 0; repeat < 50; ++repeat) {
      std::vector<std::atomic<int>> hits(static_cast<size_t>(threads));
      for (auto& h : hits) h = 0;
      cpu::parallel_run(threads, [&](int t) { hits[static_cast<size_t>(t)]++; });
      for (int t = 0; t < threads; ++t) EXPECT_EQ(hits[static_cast<size_t>(t)].load(), 1) << threads << " threads";
    }
  }
}

TEST(CpuParallelRun, NestedRunsExecuteSeriallyInsideTheOuterOne) {
  std::atomic<int> inner{0};
  cpu::parallel_run(2, [&](int) { cpu::parallel_run(3, [&](int) { inner++; }); });
  EXPECT_EQ(inner.load(), 6);
}

TEST(CpuParallelRun, RethrowsAWorkersExceptionAndStaysUsable) {
  EXPECT_THROW(cpu::parallel_run(2, [](int t) {
                 if (t == 1) throw std::runtime_error("worker failed");
               }),
               std::runtime_error);
  EXPECT_THROW(cpu::parallel_run(2, [](int t) {
                 if (t == 0) throw std::runtime_error("caller failed");
               }),
               std::runtime_error);
  std::atomic<int> ran{0};
  cpu::parallel_run(2, [&](int) { ran++; });
  EXPECT_EQ(ran.load(), 2);
}

TEST(CpuAllocator, ReusedLargeBlocksHoldNoStaleValues) {
  // 1 MB tensors go through the cache of freed blocks; a recycled block
  // must be fully overwritten by the op that gets it.
  for (int i = 0; i < 3; ++i) {
    Tensor a = full({512, 512}, static_cast<double>(i + 1));
    EXPECT_EQ(a.sum().item<double>(), (i + 1) * 512.0 * 512.0);
  }
  Tensor z = zeros({512, 512});
  EXPECT_EQ(z.abs().max().item<double>(), 0.0);
}

// Ops large enough (>= cpu::kPoolGrain elements) to be split across the
// pool's threads give the element-by-element answer.
TEST(CpuParallelOps, LargeElementwiseMapsMatchAnElementLoop) {
  for (const Shape& shape : {Shape{600, 1000}, Shape{700001}}) {  // many rows; one long row
    Tensor x = randn(shape);
    Tensor y = relu(x * 2.0);
    const float* xp = x.data_ptr<float>();
    const float* yp = y.data_ptr<float>();
    int64_t wrong = 0;
    for (int64_t i = 0; i < x.numel(); ++i) wrong += yp[i] != std::max(xp[i] * 2.0f, 0.0f);
    EXPECT_EQ(wrong, 0) << x.numel() << " elements";
  }
}

// Sums and maxima over leading dims (bias gradients) take a row-by-row path
// of their own; every layout must give what a loop over the elements gives.
TEST(CpuParallelOps, ReductionsOverLeadingDimsMatchAnElementLoop) {
  Tensor a = randn({1024, 384});
  Tensor b = randn({16, 64, 130});
  struct Case {
    const char* what;
    Tensor x;
    Shape dims;
  };
  for (const Case& c : {Case{"[1024, 384] over 0", a, {0}}, Case{"[16, 64, 130] over 0, 1", b, {0, 1}},
                        Case{"[16, 64, 130] over 1, 0", b, {1, 0}}, Case{"transposed: [384, 1024] over 0", a.t(), {0}},
                        Case{"[16, 64, 130] over 0", b, {0}}}) {
    const Tensor x = c.x.contiguous();
    const int64_t cols = x.numel() / [&] {
      int64_t r = 1;
      for (int64_t d : c.dims) r *= x.size(d);
      return r;
    }();
    const float* xp = x.data_ptr<float>();
    std::vector<double> sums(static_cast<size_t>(cols), 0.0);
    std::vector<float> maxes(static_cast<size_t>(cols), -INFINITY);
    for (int64_t i = 0; i < x.numel(); ++i) {
      sums[static_cast<size_t>(i % cols)] += xp[i];
      maxes[static_cast<size_t>(i % cols)] = std::max(maxes[static_cast<size_t>(i % cols)], xp[i]);
    }
    const std::vector<float> got_sum = sum(c.x, c.dims).contiguous().to_vector<float>();
    const std::vector<float> got_max = amax(c.x, c.dims).contiguous().to_vector<float>();
    ASSERT_EQ(got_sum.size(), sums.size()) << c.what;
    int64_t wrong = 0;
    for (size_t i = 0; i < sums.size(); ++i)
      wrong += std::abs(got_sum[i] - sums[i]) > 1e-4 * (1 + std::abs(sums[i])) || got_max[i] != maxes[i];
    EXPECT_EQ(wrong, 0) << c.what;
  }
}

TEST(CpuParallelOps, LargeBatchNormMatchesPerChannelStatistics) {
  const int64_t N = 8, C = 5, HW = 128 * 128;
  Tensor x = randn({N, C, 128, 128}) * 3.0 + 1.0;
  Tensor y = batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), /*training=*/true, 0.1, 1e-5);
  const float* xp = x.data_ptr<float>();
  const float* yp = y.data_ptr<float>();
  for (int64_t c = 0; c < C; ++c) {
    double s = 0, ss = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) s += xp[(n * C + c) * HW + i];
    const double mean = s / static_cast<double>(N * HW);
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) ss += (xp[(n * C + c) * HW + i] - mean) * (xp[(n * C + c) * HW + i] - mean);
    const double invstd = 1.0 / std::sqrt(ss / static_cast<double>(N * HW) + 1e-5);
    double worst = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t i = 0; i < HW; ++i) {
        const int64_t k = (n * C + c) * HW + i;
        worst = std::max(worst, std::abs(yp[k] - (xp[k] - mean) * invstd));
      }
    EXPECT_LT(worst, 1e-4) << "channel " << c;
  }
}

TEST(CpuParallelOps, LargeMaxPoolMatchesAWindowLoop) {
  const int64_t planes = 8 * 16, H = 64, W = 64;
  Tensor x = randn({8, 16, H, W});
  Tensor y = max_pool2d(x, 2);
  const float* xp = x.data_ptr<float>();
  const float* yp = y.data_ptr<float>();
  int64_t wrong = 0;
  for (int64_t p = 0; p < planes; ++p)
    for (int64_t oh = 0; oh < H / 2; ++oh)
      for (int64_t ow = 0; ow < W / 2; ++ow) {
        const float* w0 = xp + p * H * W + 2 * oh * W + 2 * ow;
        const float m = std::max(std::max(w0[0], w0[1]), std::max(w0[W], w0[W + 1]));
        wrong += yp[(p * (H / 2) + oh) * (W / 2) + ow] != m;
      }
  EXPECT_EQ(wrong, 0);
}
