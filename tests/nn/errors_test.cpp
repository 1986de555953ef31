// Bad arguments throw kiln::Error subclasses whose messages name the op and
// the offending shapes.
#include <gtest/gtest.h>

#include <kiln/kiln.h>
#include <kiln/nn.h>

using namespace kiln;

#define EXPECT_THROW_MSG(stmt, type, needle)                                         \
  do {                                                                               \
    try {                                                                            \
      stmt;                                                                          \
      ADD_FAILURE() << "expected " #type;                                            \
    } catch (const type& e) {                                                        \
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what(); \
    }                                                                                \
  } while (0)

TEST(NnErrors, Conv2dChannelMismatchNamesBothShapes) {
  EXPECT_THROW_MSG(conv2d(zeros({1, 3, 8, 8}), zeros({4, 2, 3, 3})), ShapeError, "[4, 2, 3, 3]");
  EXPECT_THROW_MSG(conv2d(zeros({1, 3, 8, 8}), zeros({4, 2, 3, 3})), ShapeError, "[1, 3, 8, 8]");
}

TEST(NnErrors, Conv2dRejectsBadArguments) {
  Tensor x = zeros({1, 4, 8, 8}), w = zeros({4, 2, 3, 3});
  EXPECT_THROW(conv2d(zeros({4, 8}), w), ShapeError);
  EXPECT_THROW(conv2d(x, zeros({4, 4, 3})), ShapeError);
  EXPECT_THROW(conv2d(x, w, Tensor(), 1, 0, 1, 3), ShapeError);  // 4 channels, 3 groups
  EXPECT_THROW(conv2d(x, w, Tensor(), 0, 0, 1, 2), ValueError);  // stride 0
  EXPECT_THROW(conv2d(x, w, Tensor(), 1, -1, 1, 2), ValueError);
  EXPECT_THROW(conv2d(x, w, zeros({3}), 1, 0, 1, 2), ShapeError);
  EXPECT_THROW(conv2d(x, w.to(kFloat64), Tensor(), 1, 0, 1, 2), DTypeError);
  EXPECT_THROW(conv2d(zeros({1, 4, 2, 2}), w, Tensor(), 1, 0, 1, 2), ShapeError);  // kernel larger than input
  EXPECT_THROW(conv2d(zeros({1, 4, 8, 8}, kInt64), w.to(kInt64), Tensor(), 1, 0, 1, 2), DTypeError);
}

TEST(NnErrors, PoolingRejectsBadArguments) {
  Tensor x = zeros({1, 1, 4, 4});
  EXPECT_THROW(max_pool2d(zeros({4, 4}), 2), ShapeError);
  EXPECT_THROW(max_pool2d(x, 0), ValueError);
  EXPECT_THROW_MSG(max_pool2d(x, 2, 2, 2), ValueError, "at most half the kernel");
  EXPECT_THROW(avg_pool2d(x, 5), ShapeError);
  EXPECT_THROW(adaptive_avg_pool2d(x, 0), ValueError);
}

TEST(NnErrors, BatchNormRejectsBadArguments) {
  Tensor x = zeros({4, 3, 2, 2});
  EXPECT_THROW_MSG(batch_norm(x, zeros({2}), Tensor(), Tensor(), Tensor(), true), ShapeError, "weight");
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), Tensor(), Tensor(), /*training=*/false), ValueError);
  EXPECT_THROW(batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true), ValueError);  // one value
  EXPECT_THROW(batch_norm(x, Tensor(), Tensor(), zeros({3}), Tensor(), true), ValueError);
  EXPECT_THROW(batch_norm(zeros({4, 3, 2}), Tensor(), Tensor(), Tensor(), Tensor(), true), ShapeError);
  nn::BatchNorm2d bn(3);
  EXPECT_THROW_MSG(bn(zeros({2, 4, 2, 2})), ShapeError, "num_features = 3");
}

TEST(NnErrors, LossesRejectBadTargets) {
  Tensor logits = zeros({3, 4});
  EXPECT_THROW_MSG(cross_entropy(logits, tensor({0, 1, 4})), IndexError, "[0, 4)");
  EXPECT_THROW(cross_entropy(logits, tensor({0.f, 1.f, 2.f})), DTypeError);
  EXPECT_THROW(cross_entropy(logits, tensor({0, 1})), ShapeError);
  EXPECT_THROW(cross_entropy(logits, tensor({0, 1, 2}), -100, 1.5), ValueError);
  EXPECT_THROW_MSG(cross_entropy(logits, tensor({0, 1, 2}), -100, 0, "avg"), ValueError, "reduction");
  EXPECT_THROW(nll_loss(logits, tensor({-2, 0, 0})), IndexError);
  EXPECT_THROW(mse_loss(zeros({3}), zeros({4})), ShapeError);
  EXPECT_THROW(binary_cross_entropy_with_logits(zeros({3}), zeros({3}, kFloat64)), DTypeError);
  EXPECT_THROW(binary_cross_entropy_with_logits(zeros({2, 3}), zeros({2, 3}), zeros({4})), ShapeError);
}

TEST(NnErrors, LinearRejectsFeatureMismatch) {
  EXPECT_THROW_MSG(linear(zeros({2, 3}), zeros({4, 5})), ShapeError, "in_features = 5");
  nn::Linear fc(5, 2);
  EXPECT_THROW(fc(zeros({2, 3})), ShapeError);
}

TEST(NnErrors, InitRejectsTensorsWithoutFans) {
  EXPECT_THROW(nn::init::kaiming_uniform_(zeros({3})), ShapeError);
  EXPECT_THROW(nn::init::kaiming_uniform_(zeros({3, 3}), 0, "fan_avg"), ValueError);
  EXPECT_THROW(nn::init::calculate_gain("swish"), ValueError);
}
