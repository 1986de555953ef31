// OutlierDetector: running mean and variance of a fixed window.
#include "kiln/train/outlier_detector.h"

#include <cmath>

#include "kiln/core/error.h"

namespace kiln::train {

OutlierDetector::OutlierDetector(int64_t window, bool log_space) : window_(window), log_space_(log_space) {
  KILN_CHECK(window >= 2, ValueError, "OutlierDetector: window must be at least 2, got ", window);
}

double OutlierDetector::z_score(double x) const {
  if (!full() || !std::isfinite(x)) return 0.0;
  if (log_space_) {
    if (x <= 0) return 0.0;
    x = std::log(x);
  }
  const double n = static_cast<double>(values_.size());
  const double mean = sum_ / n;
  const double var = std::max(0.0, sum_sq_ / n - mean * mean);
  const double sd = std::sqrt(var);
  // A window of identical values (a constant loss) has no spread: only a
  // different value is remarkable, and it is infinitely so.
  if (sd <= 1e-12 * std::max(1.0, std::abs(mean))) return x == mean ? 0.0 : (x > mean ? INFINITY : -INFINITY);
  return (x - mean) / sd;
}

void OutlierDetector::push(double x) {
  if (!std::isfinite(x) || (log_space_ && x <= 0)) return;
  if (log_space_) x = std::log(x);
  values_.push_back(x);
  sum_ += x;
  sum_sq_ += x * x;
  if (static_cast<int64_t>(values_.size()) > window_) {
    const double old = values_.front();
    values_.pop_front();
    sum_ -= old;
    sum_sq_ -= old * old;
  }
  if (++pushes_since_refresh_ >= window_) {
    sum_ = sum_sq_ = 0;
    for (double v : values_) {
      sum_ += v;
      sum_sq_ += v * v;
    }
    pushes_since_refresh_ = 0;
  }
}

void OutlierDetector::clear() {
  values_.clear();
  sum_ = sum_sq_ = 0;
  pushes_since_refresh_ = 0;
}

}  // namespace kiln::train
