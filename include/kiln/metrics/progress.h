// What a training run prints and records.
//
// ProgressBar: one epoch's progress. On a terminal it redraws a single line
//   epoch 2/10 [#######.............] 120/469 loss 0.5432 | 5120 samples/s | ETA 0:07
// (at most every refresh_seconds, and always for the last step); elsewhere
// (a log file, CI) it prints a plain line every log_every steps,
//   epoch 2/10 step 120/469 loss 0.5432 samples/s 5120.0 eta 7s
// and in both cases one summary line from finish():
//   epoch 2/10 done 469 steps loss 0.4321 samples/s 5011.2 time 12.0s val_accuracy 0.8812
// The loss shown is the running mean over the epoch's steps so far.
//
// MetricsLogger: every step's loss and every epoch's metrics in a file, CSV
// or JSON Lines chosen by the extension, flushed after each record so a
// crashed run keeps its log.
#pragma once
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace kiln::metrics {

using NamedValues = std::vector<std::pair<std::string, double>>;

struct ProgressOptions {
  std::ostream* out = &std::cout;
  // Redrawn line or plain lines; unset = isatty(stdout) when out is std::cout,
  // otherwise plain.
  std::optional<bool> tty;
  int64_t log_every = 100;        // plain mode: a line every this many steps
  double refresh_seconds = 0.1;   // tty mode: redraw at most this often
  int bar_width = 20;
  std::string label = "epoch";  // what the line starts with ("epoch 2/10")
  std::string unit = "samples";  // what update()'s batch_size counts ("samples/s"; char_gpt: "tokens")
};

class ProgressBar {
 public:
  // epoch counts from 1 in the display; num_epochs <= 0 hides "/num_epochs".
  ProgressBar(int64_t epoch, int64_t num_epochs, int64_t total_steps, ProgressOptions options = {});
  // One finished step: its loss and how many examples it processed.
  void update(double loss, int64_t batch_size);
  // Prints the summary line with extra metrics (validation accuracy, ...).
  void finish(const NamedValues& metrics = {});

  int64_t step() const { return step_; }
  double mean_loss() const { return step_ ? loss_sum_ / static_cast<double>(step_) : 0.0; }
  double samples_per_sec() const;
  double elapsed_seconds() const;
  bool tty() const { return tty_; }

 private:
  std::string head() const;  // "epoch 2/10"
  void draw_line();
  void print_plain_line();

  int64_t epoch_, num_epochs_, total_;
  ProgressOptions opt_;
  bool tty_;
  int64_t step_ = 0;
  int64_t samples_ = 0;
  double loss_sum_ = 0.0;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_, last_draw_;
};

// "1:05:03", "7:09", "0:42"
std::string format_duration(double seconds);

class MetricsLogger {
 public:
  // path ends in .csv or .jsonl (else ValueError); append keeps an existing
  // file (and does not repeat a CSV header), for resumed runs.
  explicit MetricsLogger(const std::string& path, bool append = false);

  // A step record: step, epoch, loss, lr, samples_per_sec, wall_time (Unix
  // seconds when written).
  void log_step(int64_t step, int64_t epoch, double loss, double lr, double samples_per_sec);
  // An epoch record: epoch, wall_time and the named metrics. In JSONL it is a
  // line of the same file ({"type": "epoch", ...}); in CSV, whose columns are
  // fixed, it goes to a second file, epoch_path() (<stem>.epochs.csv), whose
  // columns are set by the first call; later calls must give the same names.
  void log_epoch(int64_t epoch, const NamedValues& metrics);

  const std::string& path() const { return path_; }
  std::string epoch_path() const;  // empty for JSONL
  bool is_csv() const { return csv_; }

 private:
  std::string path_;
  bool csv_;
  bool append_;
  std::ofstream steps_;
  std::ofstream epochs_;  // CSV only
  std::vector<std::string> epoch_columns_;
};

}  // namespace kiln::metrics
