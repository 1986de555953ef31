#include <kiln/metrics/confusion_matrix.h>
#include <kiln/ops/factory.h>

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

// Rows true class, columns predicted:
//   [3 1 0]      support   4 4 2     tp 3 2 1
//   [0 2 2]      predicted 4 3 3
//   [1 0 1]
// plus a fourth class that never occurs.
metrics::ConfusionMatrix hand_made() {
  metrics::ConfusionMatrix cm(4, {"cat", "dog", "bird", "fish"});
  std::vector<int64_t> t, p;
  const int64_t m[3][3] = {{3, 1, 0}, {0, 2, 2}, {1, 0, 1}};
  for (int64_t i = 0; i < 3; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < m[i][j]; ++k) {
        t.push_back(i);
        p.push_back(j);
      }
  cm.update(p, t);
  return cm;
}

TEST(ConfusionMatrix, CountsTrueClassByPredictedClass) {
  auto cm = hand_made();
  EXPECT_EQ(cm.matrix().to_vector<int64_t>(),
            (std::vector<int64_t>{3, 1, 0, 0, 0, 2, 2, 0, 1, 0, 1, 0, 0, 0, 0, 0}));
  EXPECT_EQ(cm.total(), 10);
  EXPECT_EQ(cm.support(1), 4);
}

TEST(ConfusionMatrix, PerClassPrecisionRecallF1MatchHandValues) {
  auto cm = hand_made();
  EXPECT_DOUBLE_EQ(cm.precision(0), 3.0 / 4);
  EXPECT_DOUBLE_EQ(cm.precision(1), 2.0 / 3);
  EXPECT_DOUBLE_EQ(cm.precision(2), 1.0 / 3);
  EXPECT_DOUBLE_EQ(cm.recall(0), 3.0 / 4);
  EXPECT_DOUBLE_EQ(cm.recall(1), 1.0 / 2);
  EXPECT_DOUBLE_EQ(cm.recall(2), 1.0 / 2);
  EXPECT_DOUBLE_EQ(cm.f1(0), 3.0 / 4);
  EXPECT_NEAR(cm.f1(1), 4.0 / 7, 1e-15);
  EXPECT_NEAR(cm.f1(2), 2.0 / 5, 1e-15);
  EXPECT_EQ(cm.precision(3), 0.0);  // never predicted: zero division gives 0
}

TEST(ConfusionMatrix, MacroAveragesSkipClassesThatNeverOccur) {
  auto cm = hand_made();
  EXPECT_NEAR(cm.macro_precision(), 7.0 / 12, 1e-15);
  EXPECT_NEAR(cm.macro_recall(), 7.0 / 12, 1e-15);
  EXPECT_NEAR(cm.macro_f1(), 241.0 / 420, 1e-15);
  EXPECT_DOUBLE_EQ(cm.accuracy(), 0.6);
}

TEST(ConfusionMatrix, PredictedButAbsentClassCountsInTheMacroAverage) {
  metrics::ConfusionMatrix cm(2);
  cm.update(std::vector<int64_t>{1, 1, 0}, std::vector<int64_t>{0, 0, 0});
  // class 0: p = 1/1, r = 1/3; class 1: p = 0/2, r = 0 (no support).
  EXPECT_DOUBLE_EQ(cm.macro_precision(), 0.5);
  EXPECT_DOUBLE_EQ(cm.macro_recall(), 1.0 / 6);
}

TEST(ConfusionMatrix, UpdatesFromLogitsAndStreams) {
  metrics::ConfusionMatrix cm(3);
  cm.update(tensor({0.1f, 0.8f, 0.1f, 0.9f, 0.05f, 0.05f}).view({2, 3}), tensor({1, 2}));
  cm.update(tensor({2}), tensor({2}));
  EXPECT_EQ(cm.count(1, 1), 1);
  EXPECT_EQ(cm.count(2, 0), 1);
  EXPECT_EQ(cm.count(2, 2), 1);
  cm.reset();
  EXPECT_EQ(cm.total(), 0);
}

TEST(ConfusionMatrix, RejectsClassesOutOfRangeWithoutCountingTheBatch) {
  metrics::ConfusionMatrix cm(3);
  EXPECT_THROW(cm.update(tensor({0, 3}), tensor({0, 1})), ValueError);
  EXPECT_THROW(cm.update(tensor({0, 1}), tensor({-1, 1})), ValueError);
  EXPECT_THROW(cm.update(zeros({2, 4}), tensor({0, 1})), ShapeError);
  EXPECT_EQ(cm.total(), 0);
  EXPECT_THROW(metrics::ConfusionMatrix(3, {"a", "b"}), ValueError);
}

TEST(ConfusionMatrix, PrintsTheMatrixAndAReportWithClassNames) {
  std::string s = hand_made().str();
  EXPECT_NE(s.find("rows: true class"), std::string::npos) << s;
  EXPECT_NE(s.find("0 cat       | 3 1 0 0"), std::string::npos) << s;
  EXPECT_NE(s.find("dog          0.6667    0.5000    0.5714         4"), std::string::npos) << s;
  EXPECT_NE(s.find("macro avg    0.5833    0.5833    0.5738        10"), std::string::npos) << s;
  EXPECT_NE(s.find("accuracy                         0.6000        10"), std::string::npos) << s;
}

}  // namespace
}  // namespace kiln::testing
