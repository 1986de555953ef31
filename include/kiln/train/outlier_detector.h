// A z-score over a running window, as llm.c's outlier detector: the window
// holds the last `window` accepted values; z(x) = (x - mean) / std of the
// window. Until the window is full z is 0 (no opinion), so a run's first
// steps, whose loss falls fastest, are never called outliers.
//
// With log_space the window holds log(x) and z is that of log(x): losses and
// gradient norms are positive and vary by factors, and late in a run, when
// the loss is small and steady, an ordinary batch can sit many linear
// standard deviations above the mean (a loss of 0.33 against a window of
// 0.1 +- 0.03) while a real spike multiplies it. Values <= 0 are then not
// added and score 0.
#pragma once
#include <cstdint>
#include <deque>

namespace kiln::train {

class OutlierDetector {
 public:
  explicit OutlierDetector(int64_t window = 100, bool log_space = false);
  // The z-score of x against the window (0 while the window is not full, or
  // when every value in it is the same). Does not add x.
  double z_score(double x) const;
  // Adds x to the window (dropping the oldest when full). Non-finite values are ignored.
  void push(double x);
  void clear();
  bool full() const { return static_cast<int64_t>(values_.size()) == window_; }
  int64_t size() const { return static_cast<int64_t>(values_.size()); }
  int64_t window() const { return window_; }
  bool log_space() const { return log_space_; }

 private:
  int64_t window_;
  bool log_space_;
  std::deque<double> values_;
  // Running sums over the window, recomputed from scratch every `window`
  // pushes so rounding cannot drift.
  double sum_ = 0, sum_sq_ = 0;
  int64_t pushes_since_refresh_ = 0;
};

}  // namespace kiln::train
