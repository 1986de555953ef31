// Views share storage with their base; in-place writes through a view reach
// the base; copies (contiguous, clone, to) do not share.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "support/tensor_assert.h"

namespace kiln {
namespace {

Tensor base12() { return arange(12, kFloat32).reshape({3, 4}); }

TEST(Views, ShareStorageWithTheirBase) {
  Tensor b = base12();
  const std::vector<std::pair<const char*, Tensor>> views = {
      {"view", b.view({4, 3})},          {"reshape", b.reshape({2, 6})},   {"permute", b.permute({1, 0})},
      {"transpose", b.transpose(0, 1)},  {"t", b.t()},                     {"narrow", b.narrow(1, 1, 2)},
      {"slice", b.slice(1, 0, 4, 2)},    {"select", b.select(0, 2)},       {"index", b[1]},
      {"expand", b[0].expand({5, 4})},   {"squeeze", b.unsqueeze(0).squeeze(0)},
      {"unsqueeze", b.unsqueeze(1)},     {"flatten", b.flatten()},         {"detach", b.detach()},
      {"as_strided", b.as_strided({2, 2}, {1, 4}, 1)}};
  for (const auto& [name, v] : views) {
    EXPECT_TRUE(v.shares_storage(b)) << name;
    EXPECT_EQ(v.raw_data_ptr() >= b.raw_data_ptr(), true) << name;
  }
}

TEST(Views, HaveTheExpectedGeometry) {
  Tensor b = base12();
  EXPECT_EQ(b.t().strides(), (Shape{1, 4}));
  EXPECT_FALSE(b.t().is_contiguous());
  EXPECT_EQ(b.slice(1, 1, 4, 2).strides(), (Shape{4, 2}));
  EXPECT_EQ(b.slice(1, 1, 4, 2).storage_offset(), 1);
  EXPECT_EQ(b.select(1, 3).sizes(), (Shape{3}));
  EXPECT_EQ(b.select(1, 3).storage_offset(), 3);
  EXPECT_EQ(b[0].expand({5, 4}).strides(), (Shape{0, 1}));
  EXPECT_EQ(b.narrow(0, 1, 2).to_vector<float>(), (std::vector<float>{4, 5, 6, 7, 8, 9, 10, 11}));
  EXPECT_EQ(b.select(-1, -1).to_vector<float>(), (std::vector<float>{3, 7, 11}));
  EXPECT_EQ(b.slice(0, -2, 100).sizes(), (Shape{2, 4})) << "slice bounds clamp like Python";
  EXPECT_EQ(b.slice(1, 3, 1).sizes(), (Shape{3, 0})) << "end before start gives an empty view";
  EXPECT_EQ(b.unsqueeze(-1).sizes(), (Shape{3, 4, 1}));
  EXPECT_EQ(zeros({1, 3, 1}).squeeze().sizes(), (Shape{3}));
  EXPECT_EQ(zeros({2, 3}).squeeze(0).sizes(), (Shape{2, 3})) << "squeeze of a non-1 dim is a no-op";
  EXPECT_EQ(zeros({2, 3, 4}).flatten(1).sizes(), (Shape{2, 12}));
  EXPECT_EQ(scalar_tensor(1.0).flatten().sizes(), (Shape{1}));
}

TEST(Views, ReshapeViewsWhenItCanAndCopiesWhenItMust) {
  Tensor b = base12();
  EXPECT_TRUE(b.reshape({12}).shares_storage(b));
  EXPECT_TRUE(b.t().reshape({4, 3, 1}).shares_storage(b)) << "adding a size-1 dim needs no copy";
  Tensor copied = b.t().reshape({12});
  EXPECT_FALSE(copied.shares_storage(b));
  EXPECT_EQ(copied.to_vector<float>(), (std::vector<float>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_THROW(b.t().view({12}), ShapeError);
  // A slice keeps a viewable inner dim.
  Tensor s = zeros({4, 6}).slice(1, 0, 6, 2);
  EXPECT_TRUE(s.reshape({4, 3, 1}).shares_storage(s));
}

TEST(Views, InPlaceWritesReachTheBase) {
  Tensor b = zeros({3, 4});
  b.select(0, 1).fill_(1);
  b.t().select(0, 3).add_(2);     // column 3
  b.slice(1, 0, 4, 2).mul_(10);   // columns 0 and 2 (row 1 becomes 10)
  b.narrow(0, 2, 1).sub_(ones({1, 4}));
  b.view({12}).narrow(0, 0, 1).copy_(full({1}, 7));
  b.unsqueeze(0).select(0, 0).select(1, 1).div_(2);  // column 1
  EXPECT_EQ(b.to_vector<float>(), (std::vector<float>{7, 0, 0, 2, 10, 0.5f, 10, 3, -1, -0.5f, -1, 1}));
  EXPECT_GT(b.version(), 0u);
}

TEST(Views, WritesToTheBaseShowInTheView) {
  Tensor b = zeros({2, 3});
  Tensor col = b.select(1, 2);
  Tensor expanded = b[0].expand({4, 3});
  b.fill_(5);
  EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{5, 5}));
  EXPECT_EQ(expanded.sum().item<float>(), 60.0f);
  b.zero_();
  EXPECT_EQ(col.to_vector<float>(), (std::vector<float>{0, 0}));
}

TEST(Copies, ContiguousCloneAndToDoNotShare) {
  Tensor b = base12();
  EXPECT_TRUE(b.contiguous().is_same(b)) << "already contiguous: the same tensor";
  Tensor c = b.t().contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_FALSE(c.shares_storage(b));
  EXPECT_EQ(c.to_vector<float>(), b.t().to_vector<float>());
  Tensor cl = b.clone();
  EXPECT_FALSE(cl.shares_storage(b));
  cl.fill_(0);
  EXPECT_EQ(b.sum().item<float>(), 66.0f);
  EXPECT_TRUE(b.to(kFloat32).is_same(b));
  Tensor d = b.to(kFloat64);
  EXPECT_EQ(d.dtype(), kFloat64);
  EXPECT_FALSE(d.shares_storage(b));
  EXPECT_EQ(b.t().to(kInt32).to_vector<int32_t>(), (std::vector<int32_t>{0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}));
  EXPECT_EQ(full({2}, 2.7).to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{2, 2})) << "truncates";
  EXPECT_EQ(tensor({0.0f, -0.5f, 2.0f}).to(kBool).to_vector<bool>().size(), 3u);
  EXPECT_EQ(tensor({0.0f, -0.5f, 2.0f}).to(kBool).to(kInt64).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 1}));
  EXPECT_TRUE(b.to(Device(kCPU)).is_same(b));
}

TEST(Copies, CopyBroadcastsAndConverts) {
  Tensor dst = zeros({2, 3}, kFloat64);
  dst.copy_(tensor({1, 2, 3}, kInt32));
  EXPECT_EQ(dst.to_vector<double>(), (std::vector<double>{1, 2, 3, 1, 2, 3}));
  EXPECT_THROW(dst.copy_(zeros({4})), ShapeError);
  Tensor t = zeros({3, 2}).t();  // non-contiguous destination
  t.copy_(arange(6, kFloat32).reshape({2, 3}));
  EXPECT_EQ(t.contiguous().to_vector<float>(), (std::vector<float>{0, 1, 2, 3, 4, 5}));
}

TEST(Copies, InPlaceOpsOnNonContiguousSelfWithBroadcastOther) {
  Tensor b = arange(6, kFloat32).reshape({2, 3}).t();  // [3, 2]
  Tensor bc = b.contiguous();
  b.add_(tensor({10.0f, 20.0f}));
  EXPECT_TENSOR_CLOSE(b, bc + tensor({10.0f, 20.0f}));
  Tensor self_alias = arange(4, kFloat32);
  self_alias.mul_(self_alias);
  EXPECT_EQ(self_alias.to_vector<float>(), (std::vector<float>{0, 1, 4, 9}));
}

TEST(ItemAtToVector, ReadValues) {
  Tensor b = base12();
  EXPECT_EQ(b.at<float>({2, 1}), 9.0f);
  EXPECT_EQ(b.t().at<int>({1, 2}), 9);
  EXPECT_EQ(b.sum().item<double>(), 66.0);
  EXPECT_EQ(b[1][3].item<int64_t>(), 7);
  EXPECT_EQ(full({1, 1}, 2.5).item<float>(), 2.5f) << "any one-element tensor";
  EXPECT_THROW(b.item<float>(), ValueError);
  EXPECT_THROW(b.at<float>({1}), IndexError);
  EXPECT_THROW(b.at<float>({3, 0}), IndexError);
  EXPECT_EQ(b.t().to_vector<int64_t>()[1], 4);
  EXPECT_EQ(zeros({0, 4}).to_vector<float>().size(), 0u);
  EXPECT_THROW(Tensor().sizes(), ValueError);
  EXPECT_FALSE(Tensor().defined());
  EXPECT_EQ(b.size(-1), 4);
  EXPECT_THROW(b.size(2), IndexError);
  EXPECT_THROW(scalar_tensor(1.0).size(0), IndexError) << "a 0-dim tensor has no dim 0";
  EXPECT_EQ(b.numel(), 12);
  EXPECT_EQ(b.element_size(), 4u);
  const Tensor r = full({2}, 3, kInt32).requires_grad_(false);
  EXPECT_EQ(r.to_vector<int32_t>(), (std::vector<int32_t>{3, 3}));
  Tensor g = ones({2}).requires_grad_();
  EXPECT_EQ(g.to_vector<int64_t>(), (std::vector<int64_t>{1, 1})) << "reading a requires-grad tensor as ints";
}

}  // namespace
}  // namespace kiln
