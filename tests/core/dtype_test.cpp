// Dtype promotion (tensor-tensor, 0-dim, scalar weak types) and the 16-bit
// float conversions.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include <kiln/kiln.h>

namespace kiln {
namespace {

TEST(Promotion, TableMatchesPyTorch) {
  struct Case {
    DType a, b, want;
  };
  const Case cases[] = {
      {kBool, kBool, kBool},          {kBool, kUInt8, kUInt8},         {kBool, kInt32, kInt32},
      {kBool, kFloat16, kFloat16},    {kUInt8, kInt32, kInt32},        {kUInt8, kInt64, kInt64},
      {kInt32, kInt64, kInt64},       {kInt64, kFloat16, kFloat16},    {kInt64, kBFloat16, kBFloat16},
      {kInt32, kFloat32, kFloat32},   {kFloat16, kBFloat16, kFloat32}, {kFloat16, kFloat32, kFloat32},
      {kBFloat16, kFloat64, kFloat64}, {kFloat32, kFloat64, kFloat64}, {kFloat16, kFloat16, kFloat16},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(promote_types(c.a, c.b), c.want) << c.a << " + " << c.b;
    EXPECT_EQ(promote_types(c.b, c.a), c.want) << c.b << " + " << c.a << " (symmetry)";
  }
}

TEST(Promotion, OpsUseResultType) {
  EXPECT_EQ((ones({2}, kInt32) + ones({2}, kInt64)).dtype(), kInt64);
  EXPECT_EQ((ones({2}, kInt32) + ones({2}, kFloat16)).dtype(), kFloat16);
  EXPECT_EQ((ones({2}, kFloat16) * ones({2}, kBFloat16)).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kBool) + ones({2}, kBool)).dtype(), kBool);
  EXPECT_EQ(div(ones({2}, kInt64), ones({2}, kInt64)).dtype(), kFloat32) << "true division";
}

TEST(Promotion, ZeroDimTensorOfSameCategoryDoesNotWiden) {
  // A 0-dim operand only decides the dtype when its category is higher.
  EXPECT_EQ(result_type(ones({3}, kFloat16), scalar_tensor(1.0, kFloat64)), kFloat16);
  EXPECT_EQ(result_type(ones({3}, kInt32), scalar_tensor(1, kInt64)), kInt32);
  EXPECT_EQ(result_type(ones({3}, kInt32), scalar_tensor(1.0, kFloat64)), kFloat64);
  EXPECT_EQ(result_type(ones({3}, kBool), scalar_tensor(2, kInt64)), kInt64);
  EXPECT_EQ(result_type(scalar_tensor(1, kInt32), scalar_tensor(1.0, kFloat16)), kFloat16) << "both 0-dim: promote";
  EXPECT_EQ((ones({3}, kFloat16) + scalar_tensor(1.0, kFloat64)).dtype(), kFloat16);
}

TEST(Promotion, ScalarsAreWeak) {
  EXPECT_EQ((ones({2}, kFloat16) * 2).dtype(), kFloat16);
  EXPECT_EQ((ones({2}, kFloat16) * 2.5).dtype(), kFloat16);
  EXPECT_EQ((ones({2}, kBFloat16) + 1.0).dtype(), kBFloat16);
  EXPECT_EQ((ones({2}, kInt32) * 2).dtype(), kInt32);
  EXPECT_EQ((0.5f * ones({2}, kInt64)).dtype(), kFloat32) << "int tensor and float scalar: default float";
  EXPECT_EQ((ones({2}, kInt32) + 1.5).dtype(), kFloat32);
  EXPECT_EQ((ones({2}, kBool) + 1).dtype(), kInt64);
  EXPECT_EQ((ones({2}, kFloat64) * 2.0f).dtype(), kFloat64);
  EXPECT_EQ((ones({2}, kInt32) > 1.5).dtype(), kBool);
  EXPECT_EQ((2 - ones({2}, kUInt8)).dtype(), kUInt8);
  EXPECT_EQ(pow(2.0, ones({2}, kFloat16)).dtype(), kFloat16);
}

TEST(Promotion, ScalarValuesAreExact) {
  EXPECT_EQ((ones({2}, kInt64) * 3).to_vector<int64_t>(), (std::vector<int64_t>{3, 3}));
  EXPECT_EQ((ones({2}, kInt32) + 1.5).to_vector<float>(), (std::vector<float>{2.5f, 2.5f}));
  EXPECT_EQ((10 / full({2}, 4, kInt64)).to_vector<float>(), (std::vector<float>{2.5f, 2.5f}));
  // 2^40 + 1 survives an int64 round trip through Scalar.
  const int64_t big = (int64_t(1) << 40) + 1;
  EXPECT_EQ((zeros({1}, kInt64) + big).item<int64_t>(), big);
}

TEST(Promotion, InPlaceCannotWidenCategory) {
  Tensor i = ones({2}, kInt64);
  EXPECT_THROW(i.add_(ones({2}, kFloat32)), DTypeError);
  Tensor f = ones({2}, kFloat16);
  f.add_(ones({2}, kFloat64));  // same category: computed, then stored as f16
  EXPECT_EQ(f.dtype(), kFloat16);
  EXPECT_EQ(f.to_vector<float>(), (std::vector<float>{2, 2}));
}

// --- 16-bit floats ---------------------------------------------------------------------
uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST(Half, RoundTripsEveryFiniteValueExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t b = static_cast<uint16_t>(h);
    const float f = Half::to_float(b);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(Half(f)))) << std::hex << h;
      continue;
    }
    ASSERT_EQ(Half::from_float(f), b) << "half 0x" << std::hex << h << " -> " << f;
  }
}

TEST(Half, SpecialValues) {
  EXPECT_EQ(Half::from_float(65504.0f), 0x7bff) << "largest finite";
  EXPECT_EQ(Half::from_float(65520.0f), 0x7c00) << "rounds up to inf";
  EXPECT_EQ(Half::from_float(std::numeric_limits<float>::infinity()), 0x7c00);
  EXPECT_EQ(Half::from_float(-std::numeric_limits<float>::infinity()), 0xfc00);
  EXPECT_EQ(Half::from_float(std::ldexp(1.0f, -24)), 0x0001) << "smallest subnormal";
  EXPECT_EQ(Half::from_float(std::ldexp(1.0f, -25)), 0x0000) << "half of it ties to even (0)";
  EXPECT_EQ(Half::from_float(std::ldexp(3.0f, -25)), 0x0002) << "1.5 ulp ties to even (2)";
  EXPECT_EQ(Half::from_float(std::ldexp(1.0f, -14)), 0x0400) << "smallest normal";
  EXPECT_EQ(Half::from_float(-0.0f), 0x8000);
  EXPECT_EQ(Half::from_float(1.0f + std::ldexp(1.0f, -11)), 0x3c00) << "tie to even stays at 1";
  EXPECT_EQ(Half::from_float(1.0f + std::ldexp(3.0f, -11)), 0x3c02) << "tie to even rounds up";
  EXPECT_TRUE(std::isnan(Half::to_float(Half::from_float(std::nanf("")))));
  EXPECT_FLOAT_EQ(Half::to_float(0x0001), std::ldexp(1.0f, -24));
  EXPECT_FLOAT_EQ(Half::to_float(0x03ff), std::ldexp(1023.0f, -24)) << "largest subnormal";
}

TEST(BFloat16, RoundTripsEveryFiniteValueExactly) {
  for (uint32_t h = 0; h < 0x10000; ++h) {
    const uint16_t b = static_cast<uint16_t>(h);
    const float f = BFloat16::to_float(b);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(BFloat16(f))));
      continue;
    }
    ASSERT_EQ(BFloat16::from_float(f), b) << "bf16 0x" << std::hex << h;
  }
}

TEST(BFloat16, RoundsToNearestEven) {
  EXPECT_EQ(BFloat16::from_float(1.0f), 0x3f80);
  EXPECT_EQ(BFloat16::from_float(1.0f + std::ldexp(1.0f, -8)), 0x3f80) << "tie to even stays";
  EXPECT_EQ(BFloat16::from_float(1.0f + std::ldexp(3.0f, -8)), 0x3f82) << "tie to even rounds up";
  EXPECT_EQ(BFloat16::from_float(std::numeric_limits<float>::infinity()), 0x7f80);
  EXPECT_EQ(BFloat16::from_float(std::numeric_limits<float>::max()), 0x7f80) << "overflow rounds to inf";
  EXPECT_EQ(BFloat16::from_float(std::numeric_limits<float>::denorm_min()), 0x0000);
  EXPECT_EQ(BFloat16::from_float(std::ldexp(1.0f, -133)), 0x0001) << "subnormals keep their top bits";
  const uint16_t nan = BFloat16::from_float(std::nanf(""));
  EXPECT_TRUE(std::isnan(BFloat16::to_float(nan)));
  // A nan whose payload sits only in the low 16 bits must stay a nan.
  float low_nan;
  const uint32_t u = 0x7f800001u;
  std::memcpy(&low_nan, &u, 4);
  EXPECT_TRUE(std::isnan(BFloat16::to_float(BFloat16::from_float(low_nan))));
  EXPECT_EQ(bits(BFloat16::to_float(0x3f80)), 0x3f800000u);
}

TEST(LowPrecisionTensors, ConvertThroughTensorsLikeTheScalarTypes) {
  const std::vector<float> v = {0.1f, 65504.f, 70000.f, -1e-8f, std::ldexp(1.0f, -24), 3.14159f};
  Tensor t = tensor(v);
  std::vector<float> h = t.to(kFloat16).to_vector<float>();
  std::vector<float> b = t.to(kBFloat16).to_vector<float>();
  for (size_t i = 0; i < v.size(); ++i) {
    EXPECT_EQ(bits(h[i]), bits(static_cast<float>(Half(v[i])))) << i;
    EXPECT_EQ(bits(b[i]), bits(static_cast<float>(BFloat16(v[i])))) << i;
  }
  EXPECT_TRUE(std::isinf(h[2])) << "70000 overflows f16";
  EXPECT_FALSE(std::isinf(b[2])) << "but not bf16";
}

TEST(DTypeNames, AreTheLibTorchSpellings) {
  EXPECT_STREQ(dtype_name(kFloat32), "float32");
  EXPECT_STREQ(dtype_name(kBFloat16), "bfloat16");
  EXPECT_EQ(element_size(kFloat16), 2u);
  EXPECT_EQ(element_size(kInt64), 8u);
  EXPECT_TRUE(is_floating(kBFloat16));
  EXPECT_TRUE(is_integral(kBool));
  EXPECT_TRUE(is_low_precision(kFloat16));
  EXPECT_FALSE(is_low_precision(kFloat32));
}

}  // namespace
}  // namespace kiln
