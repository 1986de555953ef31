// A training run as one self-contained HTML page (inline SVG, no scripts,
// no external files) that a person can look at rather than read: loss and
// accuracy curves, learning rate, throughput, the confusion matrix as a heat
// map, the reliability diagram behind the expected calibration error, and
// whatever events the run had (the health guard's skips and rollbacks).
//
//   metrics::RunReport report("Fashion-MNIST CNN");
//   report.add_config("optimizer", "sgd lr 0.05");
//   report.log_step(step, loss, lr, samples_per_sec);      // every step
//   report.log_epoch(epoch, step, {{"test_accuracy", acc}, {"test_loss", l}});
//   report.add_event(step, "skip", "the loss is nan");
//   report.set_confusion_matrix(cm);
//   report.set_calibration(ece);
//   report.write_html("run.html");
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "kiln/metrics/calibration.h"
#include "kiln/metrics/confusion_matrix.h"
#include "kiln/metrics/progress.h"

namespace kiln::metrics {

class RunReport {
 public:
  explicit RunReport(std::string title);

  void add_config(const std::string& key, const std::string& value);
  void log_step(int64_t step, double loss, double lr, double samples_per_sec);
  // Metrics named "*accuracy*" go on the accuracy chart, "*loss*" on the
  // loss chart (at `step`), the rest in the epoch table.
  void log_epoch(int64_t epoch, int64_t step, const NamedValues& metrics);
  // kind "skip", "rollback", "stop" (drawn as markers on the curves), or any other (listed only).
  void add_event(int64_t step, const std::string& kind, const std::string& text);
  void set_confusion_matrix(const ConfusionMatrix& cm);
  void set_calibration(const CalibrationError& ece);

  std::string html() const;
  // Writes html() to `path` (IOError when it cannot).
  void write_html(const std::string& path) const;

  struct Step {
    int64_t step;
    double loss, lr, samples_per_sec;
  };
  struct Epoch {
    int64_t epoch, step;
    NamedValues metrics;
  };
  struct Event {
    int64_t step;
    std::string kind, text;
  };

 private:
  std::string title_;
  std::vector<std::pair<std::string, std::string>> config_;
  std::vector<Step> steps_;
  std::vector<Epoch> epochs_;
  std::vector<Event> events_;
  int64_t classes_ = 0;
  std::vector<std::string> class_names_;
  std::vector<int64_t> confusion_;
  std::vector<int64_t> bin_counts_;
  std::vector<double> bin_confidence_, bin_accuracy_;
  double ece_ = 0;
};

}  // namespace kiln::metrics
