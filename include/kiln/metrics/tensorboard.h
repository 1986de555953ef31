// TensorBoard event files: scalars, histograms (of weights, gradients, any
// tensor) and text, readable by `tensorboard --logdir DIR`.
//
//   metrics::TensorBoardWriter tb("runs/fashion");
//   tb.add_scalar("train/loss", loss, step);
//   tb.add_histogram("grad/fc.weight", fc->weight.grad(), step);
//   tb.add_text("config", "lr 0.05, batch 128", 0);
//
// The file is DIR/events.out.tfevents.<unix time>.<host>.<pid>: TFRecord
// records (length, masked CRC-32C of the length, data, masked CRC-32C of
// the data) each holding one tensorflow.Event in protobuf wire format;
// the first says file_version "brain.Event:2". Scalars are Summary values
// with simple_value, histograms HistogramProto, text a string tensor for
// the "text" plugin. Records are buffered and written by flush() (also every
// `flush_every` records and by the destructor), each flush appended whole.
#pragma once
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::metrics {

class TensorBoardWriter {
 public:
  // Creates log_dir (and parents). IOError when the file cannot be opened.
  explicit TensorBoardWriter(const std::string& log_dir, int64_t flush_every = 64);
  ~TensorBoardWriter();
  TensorBoardWriter(const TensorBoardWriter&) = delete;
  TensorBoardWriter& operator=(const TensorBoardWriter&) = delete;

  void add_scalar(const std::string& tag, double value, int64_t step);
  // Histogram of a tensor's values (copied to the host: call it now and
  // then, not every step), in `bins` equal-width buckets between its min and
  // max. Non-finite values are left out of the buckets and counted in a
  // "<tag>/nonfinite" scalar when there are any.
  void add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins = 30);
  void add_histogram(const std::string& tag, const std::vector<double>& values, int64_t step, int64_t bins = 30);
  // Markdown text (TensorBoard's text plugin).
  void add_text(const std::string& tag, const std::string& text, int64_t step);
  void flush();

  const std::string& path() const { return path_; }

 private:
  void write_event(const std::string& event);
  std::string event_with_summary(int64_t step, const std::string& summary) const;

  std::string path_;
  std::ofstream file_;
  std::string pending_;
  int64_t pending_records_ = 0, flush_every_;
};

}  // namespace kiln::metrics
