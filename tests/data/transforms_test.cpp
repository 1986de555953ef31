#include <kiln/data/transforms.h>
#include <kiln/ops/factory.h>

#include <gtest/gtest.h>

#include "support/tensor_assert.h"

namespace kiln::testing {
namespace {

TEST(Normalize, SubtractsMeanAndDividesByStdPerChannel) {
  Tensor x = tensor({1.f, 2.f, 3.f, 4.f, 10.f, 20.f, 30.f, 40.f}).view({2, 2, 2});
  data::RandomEngine rng(0);
  Tensor y = data::Normalize({1.0, 10.0}, {2.0, 5.0})(x, rng);
  EXPECT_TENSOR_CLOSE(y, tensor({0.f, 0.5f, 1.f, 1.5f, 0.f, 2.f, 4.f, 6.f}).view({2, 2, 2}));
}

TEST(Normalize, RejectsAChannelCountMismatchAndIntegerInput) {
  data::RandomEngine rng(0);
  data::Normalize n({0.5, 0.5, 0.5}, {0.2, 0.2, 0.2});
  EXPECT_THROW(n(zeros({1, 4, 4}), rng), ShapeError);
  EXPECT_THROW(n(zeros({3, 4, 4}, kUInt8), rng), DTypeError);
  EXPECT_THROW(data::Normalize({0.5}, {0.0}), ValueError);
}

TEST(RandomCrop, KeepsChannelsAndCutsTheRequestedSize) {
  data::RandomEngine rng(1);
  Tensor y = data::RandomCrop(32, 4)(rand({3, 32, 32}), rng);
  EXPECT_EQ(y.sizes(), (Shape{3, 32, 32}));
  Tensor z = data::RandomCrop(5, 7, 0)(rand({2, 10, 10}), rng);
  EXPECT_EQ(z.sizes(), (Shape{2, 5, 7}));
}

TEST(RandomCrop, WindowIsAShiftedCopyWithZeroPadding) {
  // With padding 1 and a crop the input's size, the output is the input
  // shifted by (dy, dx) in {-1, 0, 1}^2 with zeros where it left the frame.
  Tensor x = arange(1, 17, 1, kFloat32).view({1, 4, 4});
  for (uint64_t seed = 0; seed < 20; ++seed) {
    data::RandomEngine rng(seed);
    Tensor y = data::RandomCrop(4, 1)(x, rng);
    bool matched = false;
    for (int dy = -1; dy <= 1 && !matched; ++dy)
      for (int dx = -1; dx <= 1 && !matched; ++dx) {
        bool all = true;
        for (int r = 0; r < 4; ++r)
          for (int c = 0; c < 4; ++c) {
            int sr = r + dy, sc = c + dx;
            float want = (sr >= 0 && sr < 4 && sc >= 0 && sc < 4) ? float(1 + sr * 4 + sc) : 0.f;
            all = all && y.at<float>({0, r, c}) == want;
          }
        matched = all;
      }
    EXPECT_TRUE(matched) << "seed " << seed << ": " << y;
  }
}

TEST(RandomCrop, RejectsACropLargerThanThePaddedInput) {
  data::RandomEngine rng(0);
  EXPECT_THROW(data::RandomCrop(40, 2)(zeros({3, 32, 32}), rng), ShapeError);
}

TEST(RandomHorizontalFlip, MirrorsTheLastDimOrLeavesItAlone) {
  Tensor x = arange(6, kInt64).view({2, 3});
  data::RandomEngine rng(0);
  EXPECT_EQ(data::RandomHorizontalFlip(1.0)(x, rng).to_vector<int64_t>(), (std::vector<int64_t>{2, 1, 0, 5, 4, 3}));
  EXPECT_EQ(data::RandomHorizontalFlip(0.0)(x, rng).to_vector<int64_t>(), (std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
  int flips = 0;
  for (int i = 0; i < 1000; ++i) flips += data::RandomHorizontalFlip(0.5)(x, rng).at<int64_t>({0, 0}) == 2;
  EXPECT_GT(flips, 400);
  EXPECT_LT(flips, 600);
}

TEST(ToFloat, ScalesBytesToTheUnitInterval) {
  data::RandomEngine rng(0);
  Tensor y = data::ToFloat()(tensor(std::vector<uint8_t>{0, 51, 255}), rng);
  EXPECT_TENSOR_CLOSE(y, tensor({0.f, 0.2f, 1.f}));
}

TEST(Compose, AppliesTransformsInOrder) {
  data::Compose c({std::make_shared<data::RandomHorizontalFlip>(1.0),
                   std::make_shared<data::Normalize>(std::vector<double>{1.0}, std::vector<double>{2.0})});
  data::RandomEngine rng(0);
  EXPECT_TENSOR_CLOSE(c(tensor({1.f, 3.f, 5.f, 7.f}).view({1, 1, 4}), rng),
                      tensor({3.f, 2.f, 1.f, 0.f}).view({1, 1, 4}));
}

TEST(TransformedDataset, SameSeedEpochAndIndexGiveTheSameAugmentation) {
  auto base = std::make_shared<data::TensorDataset>(rand({8, 3, 16, 16}), arange(8));
  auto aug = std::make_shared<data::Compose>(std::vector<std::shared_ptr<data::Transform>>{
      std::make_shared<data::RandomCrop>(16, 4), std::make_shared<data::RandomHorizontalFlip>(0.5)});
  data::TransformedDataset a(base, aug, 123), b(base, aug, 123), other_seed(base, aug, 124);
  bool any_difference_across_epochs = false, any_difference_across_seeds = false;
  for (int64_t i = 0; i < 8; ++i) {
    EXPECT_TENSOR_CLOSE(a.get(i).data, b.get(i).data);
    EXPECT_EQ(a.get(i).data.sizes(), (Shape{3, 16, 16}));
    EXPECT_EQ(a.get(i).target.item<int64_t>(), i);
    any_difference_across_seeds |= !tensors_close(a.get(i).data, other_seed.get(i).data);
  }
  Tensor epoch0 = a.get(3).data;
  for (int64_t e = 1; e < 6; ++e) {
    a.set_epoch(e);
    any_difference_across_epochs |= !tensors_close(a.get(3).data, epoch0);
  }
  EXPECT_TRUE(any_difference_across_epochs);
  EXPECT_TRUE(any_difference_across_seeds);
}

}  // namespace
}  // namespace kiln::testing
