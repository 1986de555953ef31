#include <kiln/metrics/calibration.h>
#include <kiln/ops/factory.h>

#include <gtest/gtest.h>

namespace kiln::testing {
namespace {

// Five rows, two bins [0, 0.5) and [0.5, 1]:
//   conf 0.40 right, 0.45 wrong            -> bin 0: acc 1/2, conf 0.425
//   conf 0.90 right, 0.80 wrong, 1.0 right -> bin 1: acc 2/3, conf 0.9
// ECE = 0.075 * 2/5 + (0.9 - 2/3) * 3/5 = 0.03 + 0.14 = 0.17
Tensor probs() {
  return tensor({0.4f, 0.3f, 0.3f, 0.2f, 0.45f, 0.35f, 0.9f, 0.05f, 0.05f, 0.1f, 0.8f, 0.1f, 0.f, 0.f, 1.f})
      .view({5, 3});
}
Tensor targets() { return tensor({0, 2, 0, 0, 2}); }

TEST(ExpectedCalibrationError, MatchesTheHandComputedValue) {
  EXPECT_NEAR(metrics::expected_calibration_error(probs(), targets(), 2), 0.17, 1e-6);
}

TEST(ExpectedCalibrationError, IsZeroForPerfectCalibration) {
  // Confidence 0.75 in one bin, 3 of 4 right.
  Tensor p = tensor({0.75f, 0.25f, 0.75f, 0.25f, 0.75f, 0.25f, 0.25f, 0.75f}).view({4, 2});
  EXPECT_NEAR(metrics::expected_calibration_error(p, tensor({0, 0, 1, 1})), 0.0, 1e-7);
}

TEST(ExpectedCalibrationError, StreamsOverBatchesAndReportsBins) {
  metrics::CalibrationError ece(2);
  Tensor p = probs();
  ece.update(p.narrow(0, 0, 2), targets().narrow(0, 0, 2));
  ece.update(p.narrow(0, 2, 3), targets().narrow(0, 2, 3));
  EXPECT_NEAR(ece.compute(), 0.17, 1e-6);
  EXPECT_EQ(ece.bin_counts(), (std::vector<int64_t>{2, 3}));
  EXPECT_NEAR(ece.bin_confidence()[0], 0.425, 1e-6);
  EXPECT_NEAR(ece.bin_accuracy()[1], 2.0 / 3, 1e-12);
}

TEST(ExpectedCalibrationError, RejectsLogitsAndBadShapes) {
  EXPECT_THROW(metrics::expected_calibration_error(tensor({2.f, -1.f}).view({1, 2}), tensor({0})), ValueError);
  EXPECT_THROW(metrics::expected_calibration_error(probs(), tensor({0, 1})), ShapeError);
  EXPECT_THROW(metrics::CalibrationError(0), ValueError);
}

}  // namespace
}  // namespace kiln::testing
