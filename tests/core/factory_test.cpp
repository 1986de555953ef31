// Factories beyond the op table's constant ones: empty, tensor(), scalar
// tensors, from_blob with and without a deleter, requires_grad options.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

namespace kiln {
namespace {

TEST(Factories, EmptyHasShapeDtypeAndContiguousStrides) {
  Tensor e = empty({2, 3, 4}, kFloat16);
  EXPECT_EQ(e.sizes(), (Shape{2, 3, 4}));
  EXPECT_EQ(e.strides(), (Shape{12, 4, 1}));
  EXPECT_EQ(e.dtype(), kFloat16);
  EXPECT_TRUE(e.is_contiguous());
  EXPECT_EQ(empty_like(e).sizes(), e.sizes());
  EXPECT_EQ(empty_like(e).dtype(), kFloat16);
  EXPECT_EQ(empty({0}).numel(), 0);
  EXPECT_EQ(empty({}).numel(), 1);
  EXPECT_EQ(empty({}).dim(), 0);
  EXPECT_THROW(empty({3, -2}), ShapeError);
}

TEST(Factories, TensorFromHostValues) {
  Tensor a = tensor({1.5f, 2.5f});
  EXPECT_EQ(a.dtype(), kFloat32);
  EXPECT_EQ(a.sizes(), (Shape{2}));
  EXPECT_EQ(tensor({1, 2, 3}).dtype(), kInt64);
  EXPECT_EQ(tensor({1.0, 2.0}).dtype(), kFloat64);
  Tensor m = tensor(std::vector<int32_t>{1, 2, 3, 4, 5, 6}, {2, 3});
  EXPECT_EQ(m.dtype(), kInt32);
  EXPECT_EQ(m.at<int>({1, 0}), 4);
  Tensor h = tensor(std::vector<float>{0.5f, 1.0f}, {}, kFloat16);
  EXPECT_EQ(h.dtype(), kFloat16);
  EXPECT_EQ(h.to_vector<float>(), (std::vector<float>{0.5f, 1.0f}));
  EXPECT_THROW(tensor(std::vector<float>{1, 2, 3}, {2, 2}), ShapeError);
  Tensor g = tensor({1.0f}, TensorOptions(kFloat32).requires_grad(true));
  EXPECT_TRUE(g.requires_grad());
  EXPECT_TRUE(g.is_leaf());
  EXPECT_EQ(tensor(std::vector<double>{}).numel(), 0);
}

TEST(Factories, ScalarTensorIsZeroDim) {
  Tensor s = scalar_tensor(2.5, kFloat64);
  EXPECT_EQ(s.dim(), 0);
  EXPECT_EQ(s.item<double>(), 2.5);
  EXPECT_EQ(scalar_tensor(7, kInt32).item<int>(), 7);
  EXPECT_EQ(scalar_tensor(true, kBool).item<bool>(), true);
}

TEST(Factories, RequiresGradOptionNeedsAFloatingDtype) {
  EXPECT_TRUE(zeros({2}, requires_grad()).requires_grad());
  EXPECT_TRUE(ones({2}, TensorOptions(kFloat64).requires_grad(true)).requires_grad());
  EXPECT_THROW(zeros({2}, TensorOptions(kInt64).requires_grad(true)), DTypeError);
  EXPECT_THROW(arange(3, TensorOptions(kInt64).requires_grad(true)), DTypeError);
}

TEST(FromBlob, WrapsMemoryWithoutCopying) {
  std::vector<float> data = {1, 2, 3, 4, 5, 6};
  Tensor t = from_blob(data.data(), {2, 3});
  EXPECT_EQ(t.raw_data_ptr(), data.data());
  data[4] = 50;
  EXPECT_EQ(t.at<float>({1, 1}), 50.0f) << "reads the caller's memory";
  t.select(0, 0).fill_(0);
  EXPECT_EQ(data[0], 0.0f) << "writes the caller's memory";
  Tensor strided = from_blob(data.data(), {3}, {2});
  EXPECT_EQ(strided.to_vector<float>(), (std::vector<float>{0, 0, 50}));
  Tensor copy = t.clone();
  EXPECT_NE(copy.raw_data_ptr(), data.data());
  std::vector<int64_t> ints = {4, 5};
  EXPECT_EQ(from_blob(ints.data(), {2}, kInt64).sum().item<int64_t>(), 9);
}

TEST(FromBlob, CallsTheDeleterWhenTheLastViewIsGone) {
  int calls = 0;
  float* buffer = new float[4]{1, 2, 3, 4};
  {
    Tensor t = from_blob(buffer, {4}, [&calls](void* p) {
      ++calls;
      delete[] static_cast<float*>(p);
    });
    Tensor view = t.narrow(0, 1, 2);
    t = Tensor();
    EXPECT_EQ(calls, 0) << "a view still holds the storage";
    EXPECT_EQ(view.to_vector<float>(), (std::vector<float>{2, 3}));
  }
  EXPECT_EQ(calls, 1);
}

TEST(FromBlob, WithoutDeleterLeavesMemoryAlone) {
  std::vector<double> data = {1, 2};
  { Tensor t = from_blob(data.data(), {2}, kFloat64); }
  EXPECT_EQ(data[1], 2.0);  // still valid memory, not freed by kiln (ASan would flag a free)
}

}  // namespace
}  // namespace kiln
