#include <sys/stat.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "kiln/core/error.h"
#include "kiln/metrics/progress.h"

namespace kiln::metrics {
namespace {

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool non_empty_file(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && st.st_size > 0;
}

double unix_seconds() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// Shortest text that reads back as the same double ("nan"/"inf" as printed).
std::string number(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  for (int precision = 6; precision < 17; ++precision) {
    char shorter[32];
    std::snprintf(shorter, sizeof shorter, "%.*g", precision, v);
    if (std::strtod(shorter, nullptr) == v) return shorter;
  }
  return buf;
}

// CSV cells are metric names we write; quote one only if it needs it.
std::string csv_cell(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string q = "\"";
  for (char c : s) q += c == '"' ? std::string("\"\"") : std::string(1, c);
  return q + "\"";
}

void open_or_throw(std::ofstream& f, const std::string& path, bool append) {
  f.open(path, append ? std::ios::app : std::ios::trunc);
  KILN_CHECK(f.is_open(), IOError, "MetricsLogger: cannot open ", path, " for writing");
}

}  // namespace

MetricsLogger::MetricsLogger(const std::string& path, bool append) : path_(path), append_(append) {
  csv_ = ends_with(path, ".csv");
  KILN_CHECK(csv_ || ends_with(path, ".jsonl"), ValueError, "MetricsLogger: ", path,
             " must end in .csv or .jsonl (the extension picks the format)");
  const bool had_rows = append && non_empty_file(path);
  open_or_throw(steps_, path, append);
  if (csv_ && !had_rows) steps_ << "step,epoch,loss,lr,samples_per_sec,wall_time\n" << std::flush;
}

std::string MetricsLogger::epoch_path() const {
  return csv_ ? path_.substr(0, path_.size() - 4) + ".epochs.csv" : std::string();
}

void MetricsLogger::log_step(int64_t step, int64_t epoch, double loss, double lr, double samples_per_sec) {
  const double now = unix_seconds();
  if (csv_) {
    steps_ << step << ',' << epoch << ',' << number(loss) << ',' << number(lr) << ',' << number(samples_per_sec)
           << ',' << number(now) << '\n';
  } else {
    nlohmann::ordered_json j;
    j["type"] = "step";
    j["step"] = step;
    j["epoch"] = epoch;
    j["loss"] = loss;  // NaN and infinities are written as null
    j["lr"] = lr;
    j["samples_per_sec"] = samples_per_sec;
    j["wall_time"] = now;
    steps_ << j.dump() << '\n';
  }
  steps_.flush();
  KILN_CHECK(steps_.good(), IOError, "MetricsLogger: writing ", path_, " failed");
}

void MetricsLogger::log_epoch(int64_t epoch, const NamedValues& metrics) {
  const double now = unix_seconds();
  if (!csv_) {
    nlohmann::ordered_json j;
    j["type"] = "epoch";
    j["epoch"] = epoch;
    j["wall_time"] = now;
    for (const auto& [name, value] : metrics) {
      KILN_CHECK(name != "type" && name != "epoch" && name != "wall_time", ValueError, "MetricsLogger: metric name '",
                 name, "' is reserved");
      j[name] = value;
    }
    steps_ << j.dump() << '\n' << std::flush;
    KILN_CHECK(steps_.good(), IOError, "MetricsLogger: writing ", path_, " failed");
    return;
  }
  std::vector<std::string> names;
  for (const auto& nv : metrics) names.push_back(nv.first);
  if (!epochs_.is_open()) {
    epoch_columns_ = names;
    const bool had_rows = append_ && non_empty_file(epoch_path());
    open_or_throw(epochs_, epoch_path(), append_);
    if (!had_rows) {
      epochs_ << "epoch,wall_time";
      for (const auto& n : names) epochs_ << ',' << csv_cell(n);
      epochs_ << '\n';
    }
  }
  KILN_CHECK(names == epoch_columns_, ValueError, "MetricsLogger: epoch metrics must keep the columns of the first "
             "epoch record (", epoch_path(), ")");
  epochs_ << epoch << ',' << number(now);
  for (const auto& nv : metrics) epochs_ << ',' << number(nv.second);
  epochs_ << '\n' << std::flush;
  KILN_CHECK(epochs_.good(), IOError, "MetricsLogger: writing ", epoch_path(), " failed");
}

}  // namespace kiln::metrics
