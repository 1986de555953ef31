#include <kiln/metrics/classification.h>
#include <kiln/ops/factory.h>

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

Tensor logits() { return tensor({1.f, 2.f, 0.f, 3.f, 1.f, 1.f, 0.f, 0.f, 5.f, 2.f, 2.f, 1.f}).view({4, 3}); }
Tensor targets() { return tensor({1, 1, 2, 1}); }

TEST(Accuracy, FromLogitsUsesTheFirstArgmax) {
  // argmax rows: 1, 0, 2, 0 (tie -> first); hits at rows 0 and 2.
  EXPECT_DOUBLE_EQ(metrics::accuracy(logits(), targets()), 0.5);
}

TEST(Accuracy, FromClassIndices) {
  EXPECT_DOUBLE_EQ(metrics::accuracy(tensor({1, 0, 2, 1}), targets()), 0.75);
  EXPECT_DOUBLE_EQ(metrics::accuracy(tensor(std::vector<int64_t>{}), tensor(std::vector<int64_t>{})), 0.0);
}

TEST(Accuracy, TopKCountsTiesForTheTarget) {
  // top-2: every row's target is among the two best (row 3 ties at the top).
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(logits(), targets(), 2), 1.0);
  // Rows 1 and 2 hit; rows 0 and 3 have two classes strictly above the target.
  EXPECT_DOUBLE_EQ(metrics::top_k_accuracy(logits(), tensor({2, 2, 0, 2}), 2), 0.5);
}

TEST(Accuracy, StreamsOverBatches) {
  metrics::Accuracy acc;
  acc.update(logits(), targets());
  acc.update(tensor({0, 0}), tensor({0, 1}));
  EXPECT_EQ(acc.correct(), 3);
  EXPECT_EQ(acc.total(), 6);
  EXPECT_DOUBLE_EQ(acc.compute(), 0.5);
  acc.reset();
  EXPECT_EQ(acc.compute(), 0.0);
}

TEST(Accuracy, RejectsMismatchedLengthsAndFloatClassIndices) {
  EXPECT_THROW(metrics::accuracy(logits(), tensor({1, 2})), ShapeError);
  EXPECT_THROW(metrics::accuracy(tensor({1.f, 0.f}), tensor({1, 0})), DTypeError);
  EXPECT_THROW(metrics::accuracy(logits(), tensor({1.f, 1.f, 1.f, 1.f})), DTypeError);
  EXPECT_THROW(metrics::top_k_accuracy(logits(), tensor({1, 1, 3, 1}), 2), ValueError);
}

TEST(Mean, WeightsValuesByBatchSize) {
  metrics::Mean m;
  m.update(1.0, 3);
  m.update(3.0, 1);
  EXPECT_DOUBLE_EQ(m.compute(), 1.5);
}

}  // namespace
}  // namespace kiln::testing
