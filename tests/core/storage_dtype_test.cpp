// The storage-only dtypes (int8, int16, uint16, uint32, uint64,
// float8_e4m3fn, float8_e5m2): created, copied, viewed and converted, and
// refused by every arithmetic kernel with a DTypeError.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include <kiln/kiln.h>

namespace kiln {
namespace {

const DType kStorage[] = {kInt8, kInt16, kUInt16, kUInt32, kUInt64, kFloat8_e4m3fn, kFloat8_e5m2};

TEST(StorageDtypes, NamesSizesAndCategories) {
  const std::pair<DType, size_t> sizes[] = {{kInt8, 1},   {kInt16, 2},          {kUInt16, 2},      {kUInt32, 4},
                                            {kUInt64, 8}, {kFloat8_e4m3fn, 1}, {kFloat8_e5m2, 1}};
  for (const auto& [t, n] : sizes) {
    EXPECT_EQ(element_size(t), n) << dtype_name(t);
    EXPECT_TRUE(is_storage_only(t)) << dtype_name(t);
    EXPECT_FALSE(is_floating(t)) << dtype_name(t);
  }
  EXPECT_EQ(std::string(dtype_name(kFloat8_e4m3fn)), "float8_e4m3fn");
  EXPECT_EQ(std::string(dtype_name(kUInt16)), "uint16");
  EXPECT_TRUE(is_integral(kInt8));
  EXPECT_FALSE(is_integral(kFloat8_e5m2));
  EXPECT_EQ(kChar, kInt8);
  EXPECT_EQ(kShort, kInt16);
  for (DType t : {kBool, kUInt8, kInt32, kInt64, kFloat16, kBFloat16, kFloat32, kFloat64})
    EXPECT_FALSE(is_storage_only(t)) << dtype_name(t);
}

TEST(StorageDtypes, CreateConvertAndCopy) {
  for (DType t : kStorage) {
    Tensor z = zeros({2, 3}, t);
    EXPECT_EQ(z.dtype(), t);
    EXPECT_EQ(z.to(kFloat32).sum().item<float>(), 0.0f) << dtype_name(t);
    Tensor v = tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({2, 3}).to(t);
    EXPECT_EQ(v.to(kFloat32).to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6})) << dtype_name(t);
    // Views and strided copies work on the bytes.
    Tensor c = v.t().contiguous();
    EXPECT_EQ(c.to(kFloat64).to_vector<double>(), (std::vector<double>{1, 4, 2, 5, 3, 6})) << dtype_name(t);
    EXPECT_EQ(v.clone().to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 4, 5, 6})) << dtype_name(t);
    EXPECT_EQ(v.index({1, 2}).to(kFloat32).item<float>(), 6.0f);
    EXPECT_EQ(v.to(kInt8).to(kInt16).to(kFloat32).to_vector<float>()[5], 6.0f);
  }
  // Integer storage dtypes convert with kiln's rule: wrap between integers, saturate from floating.
  EXPECT_EQ(tensor({300, -1}).to(kInt8).to_vector<int8_t>(), (std::vector<int8_t>{44, -1}));
  EXPECT_EQ(tensor({1e10f, -5.0f}).to(kUInt16).to_vector<uint16_t>(), (std::vector<uint16_t>{65535, 0}));
  EXPECT_EQ(full({1}, int64_t{1} << 40, kInt64).to(kUInt64).to_vector<uint64_t>()[0], uint64_t{1} << 40);
  EXPECT_EQ(full({1}, 7, kUInt32).item().toLong(), 7);
}

TEST(StorageDtypes, Float8RoundsLikePyTorch) {
  auto e4 = [](float f) { return Float8_e4m3fn(f).bits; };
  auto e5 = [](float f) { return Float8_e5m2(f).bits; };
  EXPECT_EQ(e4(1.0f), 0x38);
  EXPECT_EQ(e4(-2.0f), 0xC0);
  EXPECT_EQ(e4(448.0f), 0x7E);  // largest finite
  EXPECT_EQ(e4(460.0f), 0x7E);  // rounds down to it
  EXPECT_EQ(e4(464.0f), 0x7E);  // a tie: to the even mantissa, 448
  EXPECT_EQ(e4(470.0f), 0x7F);  // beyond: NaN (no infinity)
  EXPECT_EQ(e4(INFINITY), 0x7F);
  EXPECT_EQ(e4(std::ldexp(1.0f, -9)), 0x01);  // smallest subnormal
  EXPECT_EQ(e4(std::ldexp(1.0f, -11)), 0x00);  // below half of it: zero
  EXPECT_EQ(e4(1.0625f), 0x38);  // halfway between 1 and 1.125: to even
  EXPECT_EQ(e4(1.1875f), 0x3A);  // halfway between 1.125 and 1.25: to even (1.25)
  EXPECT_EQ(e5(1.0f), 0x3C);
  EXPECT_EQ(e5(57344.0f), 0x7B);  // largest finite
  EXPECT_EQ(e5(61440.0f), 0x7C);  // a tie: to the even step, infinity
  EXPECT_EQ(e5(1e6f), 0x7C);
  EXPECT_EQ(e5(-INFINITY), 0xFC);
  EXPECT_EQ(e5(std::ldexp(1.0f, -16)), 0x01);
  EXPECT_TRUE(std::isnan(static_cast<float>(Float8_e5m2::from_bits(0x7D))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Float8_e4m3fn::from_bits(0xFF))));
  EXPECT_EQ(static_cast<float>(Float8_e4m3fn::from_bits(0x7E)), 448.0f);
  EXPECT_EQ(static_cast<float>(Float8_e5m2::from_bits(0x7C)), INFINITY);
  // Every one of the 256 codes decodes and encodes back to itself (NaNs to a NaN).
  for (int b = 0; b < 256; ++b) {
    const float f4 = Float8_e4m3fn::from_bits(static_cast<uint8_t>(b)), f5 = Float8_e5m2::from_bits(static_cast<uint8_t>(b));
    if (!std::isnan(f4)) {
      EXPECT_EQ(e4(f4), b) << b;
    }
    if (!std::isnan(f5)) {
      EXPECT_EQ(e5(f5), b) << b;
    }
  }
  // Through tensors: to(kFloat8_*) and back.
  Tensor x = tensor({0.1f, -3.3f, 500.0f});
  std::vector<float> back = x.to(kFloat8_e5m2).to(kFloat32).to_vector<float>();
  EXPECT_FLOAT_EQ(back[0], 0.09375f);
  EXPECT_FLOAT_EQ(back[1], -3.5f);
  EXPECT_FLOAT_EQ(back[2], 512.0f);
  EXPECT_TRUE(std::isnan(x.to(kFloat8_e4m3fn).to(kFloat32).to_vector<float>()[2]));
}

TEST(StorageDtypes, ArithmeticIsADTypeError) {
  for (DType t : kStorage) {
    Tensor a = ones({3}, t);
    auto refused = [&](const char* what, const std::function<void()>& f) {
      try {
        f();
        ADD_FAILURE() << what << " on " << dtype_name(t) << " did not throw";
      } catch (const DTypeError& e) {
        EXPECT_NE(std::string(e.what()).find(dtype_name(t)), std::string::npos) << e.what();
      } catch (const std::exception& e) {
        ADD_FAILURE() << what << " on " << dtype_name(t) << " threw another error: " << e.what();
      }
    };
    refused("add", [&] { (void)(a + a); });
    refused("mul by a float", [&] { (void)(a.to(kFloat32) * a); });
    refused("sum", [&] { (void)a.sum(); });
    refused("neg", [&] { (void)neg(a); });
    refused("exp", [&] { (void)exp(a); });
    refused("matmul", [&] { (void)matmul(a.view({1, 3}), a.view({3, 1})); });
    refused("eq", [&] { (void)a.eq(a); });
    refused("requires_grad", [&] { a.requires_grad_(); });
    refused("arange", [&] { (void)arange(0, 3, 1, t); });
    refused("rand", [&] { (void)rand({2}, t); });
  }
}

TEST(StorageDtypes, CudaCopiesTheBytes) {
  if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << cuda::unavailable_reason();
  for (DType t : kStorage) {
    Tensor v = tensor({1.0f, 2.0f, 3.0f, 4.0f, 5.0f, 6.0f}).view({2, 3}).to(t);
    Tensor g = v.to(kCUDA);
    EXPECT_EQ(g.dtype(), t);
    Tensor strided = g.t().contiguous();  // a strided copy on the device
    EXPECT_EQ(strided.cpu().to(kFloat32).to_vector<float>(), (std::vector<float>{1, 4, 2, 5, 3, 6})) << dtype_name(t);
    EXPECT_THROW((void)g.to(kFloat32), DTypeError) << "converting on the GPU is not supported";
    // to(device, dtype) converts on the CPU side of the move.
    EXPECT_EQ(v.to(Device(kCUDA), kFloat32).cpu().to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
    EXPECT_EQ(g.to(Device(kCPU), kFloat32).to_vector<float>(), (std::vector<float>{1, 2, 3, 4, 5, 6}));
  }
}

}  // namespace
}  // namespace kiln
