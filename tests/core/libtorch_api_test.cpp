// LibTorch's spellings of the Tensor API (docs/porting-from-libtorch.md,
// section "Tensor"): each test writes the call as a LibTorch program would
// and checks the value, so a spelling that compiles but means something
// else fails here.
#include <gtest/gtest.h>

#include <tuple>

#include <kiln/kiln.h>

#include "support/tensor_assert.h"

namespace kiln {
namespace {

// A bool tensor from 0/1 values.
Tensor mask(std::initializer_list<int> v) { return tensor(v).to(kBool); }

Tensor t23() { return tensor({1.0f, -2.0f, 3.0f, 4.0f, 5.0f, -6.0f}).view({2, 3}); }

TEST(IntArrayRef, OneIntABracedListAndAShapeAllWork) {
  const int64_t three = 3;  // an IntArrayRef refers to its values: they must outlive it
  IntArrayRef one = three;
  EXPECT_EQ(one.vec(), (Shape{3}));
  const Shape s = {1, 2};
  IntArrayRef from_shape = s;
  EXPECT_EQ(from_shape.size(), 2u);
  EXPECT_TRUE(from_shape.equals({1, 2}));
  EXPECT_FALSE(from_shape.equals({1}));
  EXPECT_TRUE(IntArrayRef().empty());
}

TEST(SingleIntDims, ReductionsTakeOneIntLikeABracedList) {
  Tensor x = t23();
  EXPECT_TENSOR_CLOSE(x.sum(1), x.sum({1}));
  EXPECT_EQ(x.sum(1).to_vector<float>(), (std::vector<float>{2, 3}));
  EXPECT_EQ(x.mean(-1, /*keepdim=*/true).sizes(), (Shape{2, 1}));
  EXPECT_TENSOR_CLOSE(logsumexp(x, 0), logsumexp(x, {0}));
  EXPECT_TENSOR_CLOSE(x.logsumexp(1), logsumexp(x, {1}));
  EXPECT_TENSOR_CLOSE(x.var(0), var(x, {0}));
  EXPECT_TENSOR_CLOSE(x.std(1), kiln::std(x, {1}));
  EXPECT_EQ(x.amax(1).to_vector<float>(), (std::vector<float>{3, 5}));
  EXPECT_EQ(x.amin(0).to_vector<float>(), (std::vector<float>{1, -2, -6}));
  EXPECT_TENSOR_CLOSE(x.sum({0, 1}), x.sum());
}

TEST(SingleIntDims, VarTakesUnbiasedAsABool) {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0});
  EXPECT_DOUBLE_EQ(x.var(0, /*unbiased=*/false).item<double>(), 1.25);
  EXPECT_NEAR(x.var(0, /*unbiased=*/true).item<double>(), 5.0 / 3.0, 1e-12);
}

TEST(SingleIntDims, ViewsAndFactoriesTakeOneInt) {
  Tensor x = arange(6).to(kFloat32);
  EXPECT_EQ(x.view({2, 3}).sizes(), (Shape{2, 3}));
  EXPECT_EQ(x.view(6).sizes(), (Shape{6}));
  EXPECT_EQ(x.reshape(-1).sizes(), (Shape{6}));
  EXPECT_EQ(zeros(4).sizes(), (Shape{4}));
  EXPECT_EQ(ones({2, 2}, kInt64).dtype(), kInt64);
  Tensor y = zeros({2, 3});
  EXPECT_EQ(empty(y.sizes()).sizes(), y.sizes()) << "empty(x.sizes()) does not pick std::empty";
  EXPECT_EQ(y.view_as(zeros({3, 2})).sizes(), (Shape{3, 2}));
  EXPECT_EQ(y.reshape_as(zeros({6})).sizes(), (Shape{6}));
  EXPECT_EQ(y.permute({1, 0}).sizes(), (Shape{3, 2}));
  EXPECT_EQ(zeros({3, 1}).expand({3, 4}).sizes(), (Shape{3, 4}));
}

TEST(To, DeviceTypeDeviceDtypeOtherAndOptions) {
  Tensor x = t23();
  EXPECT_TRUE(x.to(kCPU).is_same(x)) << "nothing to change returns self";
  EXPECT_FALSE(x.to(kCPU, /*non_blocking=*/false, /*copy=*/true).is_same(x));
  EXPECT_TENSOR_CLOSE(x.to(kCPU, false, true), x);
  Tensor d = x.to(Device(kCPU), kFloat64);
  EXPECT_EQ(d.dtype(), kFloat64);
  Tensor i = zeros({2}, kInt32);
  EXPECT_EQ(x.to(i).dtype(), kInt32) << "to(other) takes other's dtype";
  // Only the fields the options set: the dtype stays.
  EXPECT_EQ(x.to(TensorOptions().device(kCPU)).dtype(), kFloat32);
  EXPECT_EQ(x.to(TensorOptions().dtype(kFloat16)).dtype(), kFloat16);
  EXPECT_EQ(x.to(kiln::dtype(kBFloat16)).dtype(), kBFloat16);
  EXPECT_EQ(x.toType(kFloat64).dtype(), kFloat64);
  EXPECT_EQ(x.type_as(i).dtype(), kInt32);
  if (!cuda::is_available()) {
    EXPECT_THROW(x.to(kCUDA), Error) << "to(kCUDA) compiles and, without a GPU, throws kiln::Error";
  } else {
    Tensor g = x.to(kCUDA);
    EXPECT_TRUE(g.is_cuda());
    EXPECT_EQ(g.get_device(), 0);
    EXPECT_TENSOR_CLOSE(g.to(kCPU), x);
  }
}

TEST(TensorOptions, UnsetFieldsAreDefaultsAndLikeTakesTheRest) {
  TensorOptions o;
  EXPECT_FALSE(o.has_dtype());
  EXPECT_FALSE(o.has_device());
  EXPECT_EQ(o.dtype(), kFloat32);
  EXPECT_EQ(o.device(), Device(kCPU));
  TensorOptions typed = TensorOptions().dtype<double>();
  EXPECT_EQ(typed.dtype(), kFloat64);
  EXPECT_EQ(kiln::dtype<int64_t>().dtype(), kInt64);
  Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_EQ(zeros_like(x).dtype(), kFloat64);
  EXPECT_EQ(zeros_like(x, kInt64).dtype(), kInt64);
  EXPECT_EQ(ones_like(x, kFloat32).to_vector<float>(), std::vector<float>(6, 1.0f));
  EXPECT_EQ(full_like(x, 7, kInt32).to_vector<int32_t>(), std::vector<int32_t>(6, 7));
  EXPECT_EQ(empty_like(x, TensorOptions().device(kCPU)).dtype(), kFloat64);
  EXPECT_EQ(rand_like(x, kFloat32).dtype(), kFloat32);
  EXPECT_EQ(randn_like(x).sizes(), x.sizes());
  EXPECT_TRUE(zeros_like(x, kiln::requires_grad()).requires_grad());
  EXPECT_FALSE(zeros_like(x.clone().requires_grad_()).requires_grad()) << "requires_grad is not taken from x";
}

TEST(Methods, ComparisonsGiveBoolTensors) {
  Tensor a = tensor({1.0f, 2.0f, 3.0f});
  Tensor b = tensor({3.0f, 2.0f, 1.0f});
  EXPECT_EQ(a.eq(b).dtype(), kBool);
  EXPECT_EQ(a.eq(b).to_vector<bool>(), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(a.ne(b).to_vector<bool>(), (std::vector<bool>{true, false, true}));
  EXPECT_EQ(a.lt(b).to_vector<bool>(), (std::vector<bool>{true, false, false}));
  EXPECT_EQ(a.le(b).to_vector<bool>(), (std::vector<bool>{true, true, false}));
  EXPECT_EQ(a.gt(b).to_vector<bool>(), (std::vector<bool>{false, false, true}));
  EXPECT_EQ(a.ge(b).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  EXPECT_EQ(a.eq(2).to_vector<bool>(), (std::vector<bool>{false, true, false}));
  EXPECT_EQ(a.gt(1.5).to_vector<bool>(), (std::vector<bool>{false, true, true}));
  // The accuracy idiom of a LibTorch training loop.
  Tensor logits = tensor({0.1f, 0.9f, 0.8f, 0.2f}).view({2, 2});
  Tensor target = tensor({1, 1});
  EXPECT_EQ(logits.argmax(1).eq(target).sum().item<int64_t>(), 1);
}

TEST(Methods, MaxMinOverADimAreTuples) {
  Tensor x = t23();
  auto [values, indices] = x.max(1);
  EXPECT_EQ(values.to_vector<float>(), (std::vector<float>{3, 5}));
  EXPECT_EQ(indices.to_vector<int64_t>(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(std::get<1>(x.min(1)).to_vector<int64_t>(), (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(std::get<0>(max(x, 0, /*keepdim=*/true)).sizes(), (Shape{1, 3}));
  EXPECT_EQ(std::get<0>(min(x, 0)).to_vector<float>(), (std::vector<float>{1, -2, -6}));
  EXPECT_EQ(x.max(zeros({2, 3})).to_vector<float>(), (std::vector<float>{1, 0, 3, 4, 5, 0}));
  EXPECT_EQ(x.min(zeros({2, 3})).to_vector<float>(), (std::vector<float>{0, -2, 0, 0, 0, -6}));
}

TEST(Methods, NormBmmChunkSplitIndexSelectArgmax) {
  Tensor v = tensor({3.0, -4.0});
  EXPECT_DOUBLE_EQ(v.norm().item<double>(), 5.0);
  EXPECT_DOUBLE_EQ(v.norm(1).item<double>(), 7.0);
  EXPECT_DOUBLE_EQ(norm(v, INFINITY).item<double>(), 4.0);
  EXPECT_DOUBLE_EQ(norm(v, 0).item<double>(), 2.0);
  Tensor m = tensor({3.0, 4.0, 6.0, 8.0}).view({2, 2});
  EXPECT_EQ(m.norm(2, {1}).to_vector<double>(), (std::vector<double>{5, 10}));
  EXPECT_EQ(m.norm(std::nullopt, 1, /*keepdim=*/true).sizes(), (Shape{2, 1}));

  Tensor a = ones({2, 3, 4}), b = ones({2, 4, 5});
  EXPECT_EQ(a.bmm(b).sizes(), (Shape{2, 3, 5}));
  EXPECT_FLOAT_EQ(a.bmm(b).sum().item<float>(), 2 * 3 * 5 * 4);

  Tensor r = arange(10);
  auto chunks = r.chunk(3);
  ASSERT_EQ(chunks.size(), 3u);
  EXPECT_EQ(chunks[2].to_vector<int64_t>(), (std::vector<int64_t>{8, 9}));
  auto parts = r.split(4);
  ASSERT_EQ(parts.size(), 3u);
  EXPECT_EQ(parts[1].to_vector<int64_t>(), (std::vector<int64_t>{4, 5, 6, 7}));
  auto sized = r.split({3, 7});
  ASSERT_EQ(sized.size(), 2u);
  EXPECT_EQ(sized[0].to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(r.split_with_sizes({5, 5})[1].size(0), 5);

  Tensor x = t23();
  EXPECT_EQ(x.index_select(1, tensor({2, 0})).to_vector<float>(), (std::vector<float>{3, 1, -6, 4}));
  EXPECT_EQ(x.argmax(1).to_vector<int64_t>(), (std::vector<int64_t>{2, 1}));
  EXPECT_EQ(x.argmax().item<int64_t>(), 4);
}

TEST(Methods, MaskedFillAndItsGradient) {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0}).view({2, 2}).requires_grad_();
  Tensor rows = mask({1, 0});  // broadcasts over rows
  Tensor y = x.masked_fill(rows, -1.0);
  EXPECT_EQ(y.to_vector<double>(), (std::vector<double>{-1, 2, -1, 4}));
  y.sum().backward();
  EXPECT_EQ(x.grad().to_vector<double>(), (std::vector<double>{0, 1, 0, 1}));
  Tensor z = zeros({2, 2});
  z.masked_fill_(mask({1, 0, 0, 1}).view({2, 2}), scalar_tensor(5.0f));
  EXPECT_EQ(z.to_vector<float>(), (std::vector<float>{5, 0, 0, 5}));
  EXPECT_THROW(z.masked_fill(zeros({2, 2}), 1.0), DTypeError) << "the mask must be bool";
  EXPECT_THROW(z.masked_fill(mask({1, 0, 1}), 1.0), ShapeError);
  // The method is the masked_fill op, errors included (a float into an integer tensor).
  Tensor m = mask({0, 1, 1, 0}).view({2, 2});
  EXPECT_TRUE(equal(x.detach().masked_fill(m, 7.0), masked_fill(x.detach(), m, 7.0)));
  EXPECT_THROW(zeros({2, 2}, kInt64).masked_fill(m, 0.5), DTypeError);
  EXPECT_EQ(zeros({2, 2}, kInt64).masked_fill(m, 3).to_vector<int64_t>(), (std::vector<int64_t>{0, 3, 3, 0}));
  // A 0-dim tensor value gets its gradient: the number of filled elements.
  Tensor v = scalar_tensor(2.0, kFloat64).requires_grad_();
  Tensor w = tensor({1.0, 2.0, 3.0, 4.0}).view({2, 2});
  w.masked_fill(m, v).sum().backward();
  EXPECT_EQ(v.grad().item<double>(), 2.0);
  EXPECT_THROW(w.masked_fill(m, tensor({1.0, 2.0})), ShapeError) << "the value must be 0-dim";
}

TEST(Methods, ArithmeticWithScalarsAndAlpha) {
  Tensor a = tensor({1.0f, 2.0f}), b = tensor({10.0f, 20.0f});
  EXPECT_EQ(a.add(b, 2).to_vector<float>(), (std::vector<float>{21, 42}));
  EXPECT_EQ(b.sub(a, 3).to_vector<float>(), (std::vector<float>{7, 14}));
  EXPECT_EQ(a.add(1).to_vector<float>(), (std::vector<float>{2, 3}));
  EXPECT_EQ(a.mul(3).to_vector<float>(), (std::vector<float>{3, 6}));
  EXPECT_EQ(b.div(10).to_vector<float>(), (std::vector<float>{1, 2}));
  EXPECT_EQ(a.square().to_vector<float>(), (std::vector<float>{1, 4}));
  EXPECT_EQ(a.clamp_min(1.5).to_vector<float>(), (std::vector<float>{1.5, 2}));
  EXPECT_EQ(a.clamp_max(1.5).to_vector<float>(), (std::vector<float>{1, 1.5}));
}

TEST(Methods, RandomFillsInPlace) {
  manual_seed(3);
  Tensor x = zeros({1000}, kFloat64);
  x.uniform_(-2, 2);
  EXPECT_GE(x.min().item<double>(), -2.0);
  EXPECT_LT(x.max().item<double>(), 2.0);
  EXPECT_NEAR(x.mean().item<double>(), 0.0, 0.2);
  x.normal_(5, 0.5);
  EXPECT_NEAR(x.mean().item<double>(), 5.0, 0.1);
  EXPECT_NEAR(x.std().item<double>(), 0.5, 0.1);
  EXPECT_THROW(zeros({2}, kInt64).uniform_(), DTypeError);
  EXPECT_THROW(x.uniform_(1, 0), ValueError);
}

TEST(ItemAndScalar, ItemIsAScalarWithLibTorchConversions) {
  Tensor x = scalar_tensor(2.75);
  Scalar s = x.item();
  EXPECT_FLOAT_EQ(s.toFloat(), 2.75f);
  EXPECT_DOUBLE_EQ(x.item().toDouble(), 2.75);
  EXPECT_EQ(x.item().toLong(), 2);
  EXPECT_EQ(s.toInt(), 2);
  EXPECT_TRUE(s.toBool());
  EXPECT_EQ(s.to<float>(), 2.75f);
  EXPECT_TRUE(s.isFloatingPoint());
  EXPECT_FALSE(s.isIntegral(false));
  Scalar b = scalar_tensor(true, kBool).item();
  EXPECT_TRUE(b.isBoolean());
  EXPECT_TRUE(b.isIntegral(true));
  EXPECT_FALSE(b.isIntegral(false));
  EXPECT_EQ(scalar_tensor(7, kInt64).item().type(), kInt64);
  EXPECT_EQ(x.item<float>(), 2.75f);
  EXPECT_FLOAT_EQ(static_cast<float>(s.toHalf()), 2.75f);
  EXPECT_FLOAT_EQ(static_cast<float>(s.toBFloat16()), 2.75f);
}

TEST(Accessors, LibTorchNames) {
  Tensor x = zeros({2, 3}, kFloat64);
  EXPECT_TRUE(x.is_cpu());
  EXPECT_EQ(x.get_device(), -1);
  EXPECT_EQ(x.ndimension(), 2);
  EXPECT_EQ(x.nbytes(), 48u);
  Tensor w = ones({2}).requires_grad_();
  Tensor d = w.data();
  EXPECT_FALSE(d.requires_grad());
  EXPECT_EQ(d.data_ptr<float>(), w.data_ptr<float>()) << "data() shares storage";
  Tensor v = zeros({2});
  v.set_requires_grad(true);
  EXPECT_TRUE(v.requires_grad());
}

}  // namespace
}  // namespace kiln
