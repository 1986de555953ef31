// TensorBoardWriter: Event / Summary messages in protobuf wire format,
// framed as TFRecords (src/metrics/tfrecord.h). Field numbers are those of
// tensorflow/core/util/event.proto and framework/summary.proto, tensor.proto
// and tensor_shape.proto:
//   Event          1 wall_time (double), 2 step (int64), 3 file_version (string), 5 summary
//   Summary        1 value (repeated Value)
//   Summary.Value  1 tag, 2 simple_value (float), 5 histo, 8 tensor, 9 metadata
//   HistogramProto 1 min, 2 max, 3 num, 4 sum, 5 sum_squares (doubles),
//                  6 bucket_limit, 7 bucket (packed doubles)
//   SummaryMetadata 1 plugin_data { 1 plugin_name, 2 content }
//   TensorProto    1 dtype (DT_STRING = 7), 2 tensor_shape, 8 string_val
#include "kiln/metrics/tensorboard.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>

#include "kiln/core/error.h"
#include "metrics/tfrecord.h"

namespace kiln::metrics {

using tfrecord::ProtoWriter;

namespace {

double wall_time() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

std::string host_name() {
  char buf[256] = {0};
  if (gethostname(buf, sizeof(buf) - 1) != 0) return "localhost";
  return buf;
}

}  // namespace

TensorBoardWriter::TensorBoardWriter(const std::string& log_dir, int64_t flush_every) : flush_every_(flush_every) {
  KILN_CHECK(!log_dir.empty(), ValueError, "TensorBoardWriter: the log directory is empty");
  std::error_code ec;
  std::filesystem::create_directories(log_dir, ec);
  KILN_CHECK(!ec, IOError, "TensorBoardWriter: cannot create ", log_dir, ": ", ec.message());
  path_ = (std::filesystem::path(log_dir) /
           ("events.out.tfevents." + std::to_string(static_cast<int64_t>(wall_time())) + "." + host_name() + "." +
            std::to_string(getpid())))
              .string();
  file_.open(path_, std::ios::binary | std::ios::out | std::ios::trunc);
  KILN_CHECK(file_.good(), IOError, "TensorBoardWriter: cannot open ", path_, " for writing");
  write_event(ProtoWriter().fixed64(1, wall_time()).varint(2, 0).bytes(3, "brain.Event:2").str());
  flush();
}

TensorBoardWriter::~TensorBoardWriter() {
  try {
    flush();
  } catch (...) {  // a destructor never throws; flush() reports errors to callers who call it
  }
}

std::string TensorBoardWriter::event_with_summary(int64_t step, const std::string& value) const {
  const std::string summary = ProtoWriter().bytes(1, value).str();
  return ProtoWriter().fixed64(1, wall_time()).varint(2, static_cast<uint64_t>(step)).bytes(5, summary).str();
}

void TensorBoardWriter::write_event(const std::string& event) {
  pending_ += tfrecord::frame(event);
  if (++pending_records_ >= flush_every_) flush();
}

void TensorBoardWriter::add_scalar(const std::string& tag, double value, int64_t step) {
  write_event(event_with_summary(step, ProtoWriter().bytes(1, tag).fixed32(2, static_cast<float>(value)).str()));
}

void TensorBoardWriter::add_histogram(const std::string& tag, const Tensor& values, int64_t step, int64_t bins) {
  KILN_CHECK(values.defined(), ValueError, "TensorBoardWriter::add_histogram(", tag, "): the tensor is undefined");
  add_histogram(tag, values.detach().cpu().to_vector<double>(), step, bins);
}

void TensorBoardWriter::add_histogram(const std::string& tag, const std::vector<double>& all, int64_t step,
                                      int64_t bins) {
  KILN_CHECK(bins >= 1, ValueError, "TensorBoardWriter::add_histogram(", tag, "): bins must be >= 1, got ", bins);
  std::vector<double> v;
  v.reserve(all.size());
  for (double x : all)
    if (std::isfinite(x)) v.push_back(x);
  const int64_t nonfinite = static_cast<int64_t>(all.size() - v.size());
  double lo = 0, hi = 0, sum = 0, sum_sq = 0;
  if (!v.empty()) {
    lo = *std::min_element(v.begin(), v.end());
    hi = *std::max_element(v.begin(), v.end());
  }
  for (double x : v) {
    sum += x;
    sum_sq += x * x;
  }
  // Bucket i holds (limit[i-1], limit[i]]; the first is open to the left.
  const double width = (hi - lo) / static_cast<double>(bins);
  std::vector<double> limits(static_cast<size_t>(bins)), counts(static_cast<size_t>(bins), 0.0);
  for (int64_t i = 0; i < bins; ++i) limits[i] = i + 1 == bins ? hi : lo + width * static_cast<double>(i + 1);
  for (double x : v) {
    int64_t i = width > 0 ? static_cast<int64_t>(std::ceil((x - lo) / width)) - 1 : 0;
    i = std::clamp<int64_t>(i, 0, bins - 1);
    counts[i] += 1;
  }
  const std::string histo = ProtoWriter()
                                .fixed64(1, lo)
                                .fixed64(2, hi)
                                .fixed64(3, static_cast<double>(v.size()))
                                .fixed64(4, sum)
                                .fixed64(5, sum_sq)
                                .packed_doubles(6, limits.data(), limits.size())
                                .packed_doubles(7, counts.data(), counts.size())
                                .str();
  write_event(event_with_summary(step, ProtoWriter().bytes(1, tag).bytes(5, histo).str()));
  if (nonfinite > 0) add_scalar(tag + "/nonfinite", static_cast<double>(nonfinite), step);
}

void TensorBoardWriter::add_text(const std::string& tag, const std::string& text, int64_t step) {
  const std::string plugin = ProtoWriter().bytes(1, "text").str();
  const std::string metadata = ProtoWriter().bytes(1, plugin).str();
  // A scalar string tensor (an empty shape), which the plugin renders as markdown.
  const std::string tensor = ProtoWriter().varint(1, 7).bytes(2, "").bytes(8, text).str();
  write_event(event_with_summary(step, ProtoWriter().bytes(1, tag).bytes(8, tensor).bytes(9, metadata).str()));
}

void TensorBoardWriter::flush() {
  if (pending_.empty()) return;
  file_.write(pending_.data(), static_cast<std::streamsize>(pending_.size()));
  file_.flush();
  KILN_CHECK(file_.good(), IOError, "TensorBoardWriter: writing ", path_, " failed");
  pending_.clear();
  pending_records_ = 0;
}

}  // namespace kiln::metrics
