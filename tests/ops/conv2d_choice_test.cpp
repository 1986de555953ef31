// How the CPU backend picks its float32 convolution (src/cpu/conv2d_cpu.h):
// timed at first use per geometry and pass, then fixed, so a call's results
// do not depend on whether it was the first.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cstdlib>
#include <string>

#include "cpu/conv2d_cpu.h"
#include "support/tensor_assert.h"

namespace kiln {
namespace {

struct ConvRun {
  Tensor y, gx, gw, gb;
};

ConvRun conv_step(const Tensor& x0, const Tensor& w0, const Tensor& b0) {
  Tensor x = x0.clone().requires_grad_(), w = w0.clone().requires_grad_(), b = b0.clone().requires_grad_();
  Tensor y = conv2d(x, w, b, /*stride=*/{1, 1}, /*padding=*/{1, 1});
  (y * y).sum().backward();
  return {y.detach(), x.grad(), w.grad(), b.grad()};
}

TEST(CpuConvChoice, TheFirstCallGivesTheSameBitsAsLaterOnes) {
  if (cpu::default_conv_impl() != cpu::ConvImpl::Measured)
    GTEST_SKIP() << "one implementation is fixed (KILN_CPU_CONV set, or kiln built without oneDNN)";
  manual_seed(3);
  // A geometry no other test uses, so its first call is in this test.
  const Tensor x = randn({3, 29, 11, 13}), w = randn({31, 29, 3, 3}), b = randn({31});
  const detail::Conv2dParams p{{1, 1}, {1, 1}, {1, 1}, 1};
  EXPECT_FALSE(cpu::conv2d_measured_choice(x, w, p, cpu::ConvPass::Forward, false).has_value());
  const ConvRun first = conv_step(x, w, b);
  const auto fwd = cpu::conv2d_measured_choice(x, w, p, cpu::ConvPass::Forward, false);
  const auto bwd = cpu::conv2d_measured_choice(x, w, p, cpu::ConvPass::Backward, true);
  ASSERT_TRUE(fwd.has_value());
  ASSERT_TRUE(bwd.has_value());
  EXPECT_NE(*fwd, cpu::ConvImpl::Measured);
  const ConvRun later = conv_step(x, w, b);
  EXPECT_EQ(first.y.to_vector<float>(), later.y.to_vector<float>());
  EXPECT_EQ(first.gx.to_vector<float>(), later.gx.to_vector<float>());
  EXPECT_EQ(first.gw.to_vector<float>(), later.gw.to_vector<float>());
  EXPECT_EQ(first.gb.to_vector<float>(), later.gb.to_vector<float>());
  EXPECT_EQ(cpu::conv2d_measured_choice(x, w, p, cpu::ConvPass::Forward, false), fwd) << "the choice is kept";
  // Whichever was chosen, it computes the convolution (checked in float64).
  const ConvRun exact = conv_step(x.to(kFloat64), w.to(kFloat64), b.to(kFloat64));
  EXPECT_TENSOR_CLOSE(later.y, exact.y.to(kFloat32), 1e-4, 1e-4);
  EXPECT_TENSOR_CLOSE(later.gw, exact.gw.to(kFloat32), 1e-3, 1e-3);
  EXPECT_TENSOR_CLOSE(later.gx, exact.gx.to(kFloat32), 1e-3, 1e-3);
}

// One burst of runs at a fresh process's first convolution timed im2col 2x
// slow (conv2d_cpu.cpp): so both implementations are timed in several
// passes, each for a minimum time, which a fast convolution fills with runs.
TEST(CpuConvChoice, AFastConvolutionIsTimedInSeveralPassesOfBoth) {
  if (cpu::default_conv_impl() != cpu::ConvImpl::Measured)
    GTEST_SKIP() << "one implementation is fixed (KILN_CPU_CONV set, or kiln built without oneDNN)";
  manual_seed(4);
  // Microseconds a run, so the passes are bound by their minimum time, not by the runs.
  const Tensor x = randn({1, 3, 7, 5}), w = randn({2, 3, 3, 3});
  const detail::Conv2dParams p{{1, 1}, {1, 1}, {1, 1}, 1};
  conv2d(x, w, Tensor(), /*stride=*/{1, 1}, /*padding=*/{1, 1});
  const auto m = cpu::conv2d_measurement(x, w, p, cpu::ConvPass::Forward, false);
  ASSERT_TRUE(m.has_value());
  EXPECT_GE(m->passes, 2);
  EXPECT_LE(m->passes, 4);
  // At least three runs a block (the very first not counted)...
  EXPECT_GE(m->im2col_runs, 3 * m->passes - 1);
  EXPECT_GE(m->onednn_runs, 3 * m->passes - 1);
  // ...and 10 ms blocks, which im2col, microseconds a run on one thread,
  // fills with many more. (oneDNN's OpenMP regions can take milliseconds
  // each when other processes load the cores, as under ctest -j2.)
  EXPECT_GE(m->im2col_runs, 10 * m->passes);
  EXPECT_GT(m->im2col_seconds, 0);
  EXPECT_LT(m->im2col_seconds, 1.0);
  EXPECT_GT(m->onednn_seconds, 0);
  EXPECT_LT(m->onednn_seconds, 1.0);
  EXPECT_EQ(m->pick, *cpu::conv2d_measured_choice(x, w, p, cpu::ConvPass::Forward, false));
}

// KILN_CPU_CONV is read once per process, so the bad value is tried in a
// fresh one ("threadsafe" death tests re-run this binary from the start).
TEST(CpuConvChoice, AnUnknownKilnCpuConvValueIsAKilnError) {
  GTEST_FLAG_SET(death_test_style, "threadsafe");
  EXPECT_EXIT(
      {
        setenv("KILN_CPU_CONV", "fastest", 1);
        try {
          conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}));
        } catch (const Error& e) {
          const std::string msg = e.what();
          std::exit(msg.find("KILN_CPU_CONV") != std::string::npos && msg.find("'fastest'") != std::string::npos
                        ? 0
                        : 2);
        }
        std::exit(1);
      },
      ::testing::ExitedWithCode(0), "");
}

}  // namespace
}  // namespace kiln
