// The storage-only dtypes (int8, int16, uint16, uint32, uint64,
// float8_e4m3fn, float8_e5m2): created, copied, viewed and converted, and
// refused by every arithmetic kernel with a DTypeError.
#include <gtest/gtest.h>

#include <functional>
#include <cmath>
#include <limits>
#include <sstream>

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

TEST(StorageDtypes, WhatWorksWithoutArithmetic) {
  for (DType t : kStorage) {
    Tensor a = tensor({1, 2, 3}).to(t);
    EXPECT_EQ(cat({a, a}).to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{1, 2, 3, 1, 2, 3})) << dtype_name(t);
    EXPECT_EQ(stack({a, a}).sizes(), (Shape{2, 3}));
    Tensor b = a.clone();
    b.index_put_({0}, 5);
    b.narrow(0, 1, 1).fill_(4);
    EXPECT_EQ(b.to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{5, 4, 3})) << dtype_name(t);
    Tensor c = empty({3}, t);
    c.copy_(tensor({1.0f, 2.0f, 3.0f}));
    EXPECT_EQ(c.to(kFloat32).to_vector<float>(), (std::vector<float>{1, 2, 3})) << dtype_name(t);
    EXPECT_EQ(zeros_like(a).dtype(), t);
    EXPECT_EQ(full({2}, 2, t).to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{2, 2}));
    std::ostringstream os;
    os << a;
    EXPECT_NE(os.str().find(dtype_name(t)), std::string::npos) << os.str();
  }
}

TEST(StorageDtypes, Float8RoundsLikePyTorch) {
  auto e4 = [](float f) { return Float8_e4m3fn(f).bits; };
  auto e5 = [](float f) { return Float8_e5m2(f).bits; };
  EXPECT_EQ(e4(1.0f), 0x38);
  EXPECT_EQ(e4(-2.0f), 0xC0);
  EXPECT_EQ(e4(448.0f), 0x7E);  // largest finite
  EXPECT_EQ(e4(460.0f), 0x7E);  // rounds down to it
  EXPECT_EQ(e4(464.0f), 0x7E);  // a tie: to the even mantissa, 448
  EXPECT_EQ(e4(470.0f), 0x7E);  // beyond: saturates (no infinity), as PyTorch 2.15
  EXPECT_EQ(e4(INFINITY), 0x7E);
  EXPECT_EQ(e4(-1e6f), 0xFE);
  EXPECT_EQ(e4(NAN), 0x7F);
  EXPECT_EQ(e5(NAN), 0x7F);  // the NaN bits PyTorch gives
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
  EXPECT_EQ(x.to(kFloat8_e4m3fn).to(kFloat32).to_vector<float>()[2], 448.0f);
}

// Every arithmetic op refuses a storage-only input with a DTypeError naming
// the op and the dtype, also where PyTorch-style promotion would otherwise
// convert it first (a float times an int8, sum, exp): on CUDA that
// conversion does not exist, so allowing it on the CPU alone would make the
// same program's behaviour depend on the device.
TEST(StorageDtypes, ArithmeticIsADTypeErrorNamingTheOp) {
  for (DType t : kStorage) {
    Tensor a = ones({3}, t);
    Tensor f = ones({3});
    auto refused = [&](const char* op, const std::function<void()>& fn) {
      try {
        fn();
        ADD_FAILURE() << op << " on " << dtype_name(t) << " did not throw";
      } catch (const DTypeError& e) {
        const std::string what = e.what();
        EXPECT_NE(what.find(dtype_name(t)), std::string::npos) << what;
        EXPECT_EQ(what.rfind(std::string(op) + ":", 0), 0u) << "the message starts with the op: " << what;
      } catch (const std::exception& e) {
        ADD_FAILURE() << op << " on " << dtype_name(t) << " threw another error: " << e.what();
      }
    };
    refused("add", [&] { (void)(a + a); });
    refused("mul", [&] { (void)(f * a); });
    refused("mul", [&] { (void)(a * 2.0); });
    refused("sub", [&] { (void)(a - f); });
    refused("div", [&] { (void)(f / a); });
    refused("sum", [&] { (void)a.sum(); });
    refused("mean", [&] { (void)a.mean(); });
    refused("amax", [&] { (void)a.amax(0); });
    refused("amax", [&] { (void)a.max(); });  // max() is amax()
    refused("argmax", [&] { (void)a.argmax(); });
    refused("norm", [&] { (void)a.norm(); });
    refused("neg", [&] { (void)neg(a); });
    refused("abs", [&] { (void)abs(a); });
    refused("exp", [&] { (void)exp(a); });
    refused("relu", [&] { (void)relu(a); });
    refused("bmm", [&] { (void)matmul(a.view({1, 3}), a.view({3, 1})); });  // matmul is made of bmm
    refused("eq", [&] { (void)a.eq(a); });
    refused("lt", [&] { (void)a.lt(f); });
    refused("where", [&] { (void)where(f > 0, a, a); });
    refused("clamp", [&] { (void)a.clamp(0, 1); });
    refused("softmax", [&] { (void)softmax(a, 0); });
    refused("cumsum", [&] { (void)cumsum(a, 0); });
    refused("allclose", [&] { (void)allclose(a, a); });
    refused("eq", [&] { (void)equal(a, a); });
    // Moving elements by index is refused too (LibTorch does it for every dtype).
    refused("index_select", [&] { (void)a.index_select(0, tensor({0, 2})); });
    refused("gather", [&] { (void)a.gather(0, tensor({1})); });
    refused("scatter_add", [&] { (void)a.scatter_add(0, tensor({1}), a.narrow(0, 0, 1)); });
    refused("sort", [&] { (void)sort(a); });
    refused("topk", [&] { (void)topk(a, 1); });
    refused("masked_fill", [&] { (void)a.masked_fill(f > 0, 0); });
    refused("masked_fill", [&] { (void)masked_fill(a, f > 0, 0); });
    refused("arange", [&] { (void)arange(0, 3, 1, t); });
    refused("randint", [&] { (void)randint(0, 3, {2}, t); });
    refused("rand", [&] { (void)rand({2}, t); });
    refused("requires_grad_", [&] { a.requires_grad_(); });
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
