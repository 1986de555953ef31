// kiln's one element-conversion rule (kiln/core/convert.h), which the CPU
// backend, the CUDA kernels and Scalar share: NaN -> 0 and saturation when
// a floating value goes to an integer type, wrap-around between integers,
// "not zero" to bool. On a GPU machine the same values come from the CUDA
// kernels (tests/cuda/kernels_test.cpp compares them with these).
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

namespace {

using kiln::Tensor;

TEST(Convert, FloatingToIntegerSaturatesAndSendsNaNToZero) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  EXPECT_EQ(kiln::convert<uint8_t>(-3.0), 0);
  EXPECT_EQ(kiln::convert<uint8_t>(255.9), 255);
  EXPECT_EQ(kiln::convert<uint8_t>(256.0), 255);
  EXPECT_EQ(kiln::convert<uint8_t>(nan), 0);
  EXPECT_EQ(kiln::convert<int32_t>(inf), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(kiln::convert<int32_t>(-inf), std::numeric_limits<int32_t>::lowest());
  EXPECT_EQ(kiln::convert<int32_t>(3e9f), std::numeric_limits<int32_t>::max());
  EXPECT_EQ(kiln::convert<int64_t>(1e19), std::numeric_limits<int64_t>::max());
  EXPECT_EQ(kiln::convert<int64_t>(-1e19), std::numeric_limits<int64_t>::lowest());
  EXPECT_EQ(kiln::convert<int64_t>(9.2233720368547758e18), std::numeric_limits<int64_t>::max());  // 2^63
  EXPECT_EQ(kiln::convert<int32_t>(-2.7), -2) << "in range: truncate toward zero";
  EXPECT_EQ(kiln::convert<int32_t>(kiln::Half(-70000.0f)), std::numeric_limits<int32_t>::lowest()) << "-inf in f16";
  EXPECT_EQ(kiln::convert<uint8_t>(kiln::BFloat16(300.0f)), 255);
}

TEST(Convert, IntegersWrapAndBoolIsNotZero) {
  EXPECT_EQ(kiln::convert<uint8_t>(int64_t{-3}), 253);
  EXPECT_EQ(kiln::convert<int32_t>(int64_t{1} << 32), 0);
  EXPECT_TRUE(kiln::convert<bool>(std::nan("")));
  EXPECT_FALSE(kiln::convert<bool>(-0.0));
  EXPECT_TRUE(kiln::convert<bool>(int64_t{-1}));
}

TEST(Convert, ArangeCastToUint8SaturatesAsOnTheGpu) {
  const Tensor t = kiln::arange(-3, 3, 1, kiln::kUInt8);
  EXPECT_EQ(t.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 0, 0, 1, 2}));
  const Tensor big = kiln::arange(250, 260, 3, kiln::kUInt8);
  EXPECT_EQ(big.to_vector<uint8_t>(), (std::vector<uint8_t>{250, 253, 255, 255}));
}

TEST(Convert, TensorToIntegerDtypesFollowsTheRule) {
  const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
  const Tensor x = kiln::tensor(std::vector<double>{nan, inf, -inf, 300.0, -1.5, 2.7}, {6});
  EXPECT_EQ(x.to(kiln::kUInt8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 255, 0, 255, 0, 2}));
  EXPECT_EQ(x.to(kiln::kInt32).to_vector<int32_t>(),
            (std::vector<int32_t>{0, std::numeric_limits<int32_t>::max(), std::numeric_limits<int32_t>::lowest(), 300,
                                  -1, 2}));
  EXPECT_EQ(x.to(kiln::kFloat32).to(kiln::kInt64).to_vector<int64_t>()[1], std::numeric_limits<int64_t>::max());
  // Through a strided (non-contiguous) copy too.
  const Tensor strided = kiln::tensor(std::vector<float>{-5, 1, -7, 2}, {2, 2}).t();
  EXPECT_EQ(strided.to(kiln::kUInt8).to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 1, 2}));
}

TEST(Convert, FillOfAnIntegerTensorUsesTheSameRule) {
  Tensor u = kiln::zeros({3}, kiln::kUInt8);
  u.fill_(-3.0);
  EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{0, 0, 0}));
  u.fill_(-3);  // an integer scalar wraps, as integers do
  EXPECT_EQ(u.to_vector<uint8_t>(), (std::vector<uint8_t>{253, 253, 253}));
  Tensor i = kiln::zeros({2}, kiln::kInt32);
  i.fill_(std::nan(""));
  EXPECT_EQ(i.to_vector<int32_t>(), (std::vector<int32_t>{0, 0}));
}

}  // namespace
