#include "kiln/metrics/calibration.h"

#include <cmath>

#include "kiln/metrics/classification.h"

namespace kiln::metrics {

double expected_calibration_error(const Tensor& probs, const Tensor& targets, int64_t bins) {
  CalibrationError ece(bins);
  ece.update(probs, targets);
  return ece.compute();
}

CalibrationError::CalibrationError(int64_t bins) : bins_(bins) {
  KILN_CHECK(bins >= 1, ValueError, "expected_calibration_error: bins must be >= 1, got ", bins);
  reset();
}

void CalibrationError::reset() {
  count_.assign(size_t(bins_), 0);
  conf_sum_.assign(size_t(bins_), 0.0);
  correct_.assign(size_t(bins_), 0);
}

void CalibrationError::update(const Tensor& probs, const Tensor& targets) {
  const char* op = "expected_calibration_error";
  std::vector<int64_t> t = detail::target_classes(op, targets);
  const int64_t n = static_cast<int64_t>(t.size());
  KILN_CHECK(probs.defined() && probs.dim() == 2 && probs.size(0) == n && probs.size(1) >= 1, ShapeError, op,
             ": probs must be [N, C] with N = ", n, " targets, got ",
             probs.defined() ? shape_str(probs.sizes()) : std::string("undefined"));
  KILN_CHECK(probs.is_floating_point(), DTypeError, op, ": probs must be floating, got ", dtype_name(probs.dtype()));
  const int64_t c = probs.size(1);
  std::vector<double> p = probs.to_vector<double>();
  for (double v : p)
    KILN_CHECK(v >= 0.0 && v <= 1.0, ValueError, op, ": probabilities must lie in [0, 1], found ", v,
               " (pass softmax output, not logits)");
  for (int64_t i = 0; i < n; ++i) {
    KILN_CHECK(t[size_t(i)] >= 0 && t[size_t(i)] < c, ValueError, op, ": target ", t[size_t(i)], " at row ", i,
               " is outside [0, ", c, ")");
    const double* row = p.data() + i * c;
    int64_t pred = 0;
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > row[pred]) pred = j;
    const double conf = row[pred];
    int64_t b = static_cast<int64_t>(std::floor(conf * static_cast<double>(bins_)));
    if (b >= bins_) b = bins_ - 1;
    ++count_[size_t(b)];
    conf_sum_[size_t(b)] += conf;
    correct_[size_t(b)] += pred == t[size_t(i)];
  }
}

double CalibrationError::compute() const {
  int64_t n = 0;
  for (int64_t v : count_) n += v;
  if (n == 0) return 0.0;
  double ece = 0.0;
  for (int64_t b = 0; b < bins_; ++b) {
    if (count_[size_t(b)] == 0) continue;
    const double k = static_cast<double>(count_[size_t(b)]);
    ece += std::fabs(correct_[size_t(b)] / k - conf_sum_[size_t(b)] / k) * (k / static_cast<double>(n));
  }
  return ece;
}

std::vector<double> CalibrationError::bin_confidence() const {
  std::vector<double> out(size_t(bins_), 0.0);
  for (int64_t b = 0; b < bins_; ++b)
    if (count_[size_t(b)]) out[size_t(b)] = conf_sum_[size_t(b)] / static_cast<double>(count_[size_t(b)]);
  return out;
}

std::vector<double> CalibrationError::bin_accuracy() const {
  std::vector<double> out(size_t(bins_), 0.0);
  for (int64_t b = 0; b < bins_; ++b)
    if (count_[size_t(b)]) out[size_t(b)] = static_cast<double>(correct_[size_t(b)]) / static_cast<double>(count_[size_t(b)]);
  return out;
}

}  // namespace kiln::metrics
