// Expected calibration error, as torchmetrics defines it (norm "l1"): the
// confidence of a row is its largest probability and its prediction that
// class; rows are put in `bins` equal-width confidence bins [i/B, (i+1)/B)
// (a confidence of exactly 1 goes in the last bin), and
//   ECE = sum over bins of |accuracy(bin) - mean confidence(bin)| * count(bin) / N.
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::metrics {

// probs [N, C] with values in [0, 1] (e.g. softmax output); targets [N].
double expected_calibration_error(const Tensor& probs, const Tensor& targets, int64_t bins = 15);

// Streaming form: update() per batch, compute() at the end.
class CalibrationError {
 public:
  explicit CalibrationError(int64_t bins = 15);
  void update(const Tensor& probs, const Tensor& targets);
  double compute() const;  // 0 before any update
  void reset();
  // Per bin: examples, mean confidence, accuracy (0 for empty bins), for
  // reliability diagrams.
  std::vector<int64_t> bin_counts() const { return count_; }
  std::vector<double> bin_confidence() const;
  std::vector<double> bin_accuracy() const;

 private:
  int64_t bins_;
  std::vector<int64_t> count_;
  std::vector<double> conf_sum_;
  std::vector<int64_t> correct_;
};

}  // namespace kiln::metrics
