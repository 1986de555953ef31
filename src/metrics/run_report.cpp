// RunReport: collects a run's numbers and lays them out as one HTML page
// (the drawings are src/metrics/svg_chart.cpp's).
#include "kiln/metrics/run_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "kiln/core/error.h"
#include "metrics/svg_chart.h"

namespace kiln::metrics {

namespace {

using svg::escape;

// At most `most` points: consecutive steps averaged in equal groups, so a
// long run stays a small file and a readable curve.
void downsample(const std::vector<double>& x, const std::vector<double>& y, size_t most, std::vector<double>& ox,
                std::vector<double>& oy) {
  ox.clear();
  oy.clear();
  if (x.size() <= most) {
    ox = x;
    oy = y;
    return;
  }
  const size_t group = (x.size() + most - 1) / most;
  for (size_t i = 0; i < x.size(); i += group) {
    const size_t end = std::min(x.size(), i + group);
    double sx = 0, sy = 0;
    bool finite = true;
    for (size_t k = i; k < end; ++k) {
      sx += x[k];
      sy += y[k];
      finite = finite && std::isfinite(y[k]);
    }
    ox.push_back(sx / static_cast<double>(end - i));
    oy.push_back(finite ? sy / static_cast<double>(end - i) : NAN);
  }
}

// Exponential moving average that skips non-finite values (they stay gaps).
std::vector<double> smooth(const std::vector<double>& y, double alpha) {
  std::vector<double> out(y.size());
  double m = NAN;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) {
      out[i] = NAN;
      continue;
    }
    m = std::isfinite(m) ? alpha * m + (1 - alpha) * y[i] : y[i];
    out[i] = m;
  }
  return out;
}

const char* marker_color(const std::string& kind) {
  if (kind == "skip") return "#e8a33d";
  if (kind == "rollback") return "#d9372b";
  if (kind == "stop") return "#111111";
  return "";
}

std::string fmt(double v, int precision = 4) {
  char buf[40];
  std::snprintf(buf, sizeof(buf), "%.*f", precision, v);
  return buf;
}

constexpr const char* kStyle = R"(
body { font: 14px/1.45 -apple-system, "Segoe UI", "DejaVu Sans", sans-serif; color: #1d232b; margin: 24px auto; max-width: 1180px; padding: 0 16px; background: #f6f7f9; }
h1 { font-size: 22px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 28px 0 8px; }
.sub { color: #5c6570; margin-bottom: 16px; }
.cards { display: flex; flex-wrap: wrap; gap: 10px; margin: 12px 0; }
.card { background: #fff; border: 1px solid #dfe3e8; border-radius: 6px; padding: 8px 14px; min-width: 120px; }
.card b { display: block; font-size: 20px; } .card span { color: #5c6570; font-size: 12px; }
.grid2 { display: flex; flex-wrap: wrap; gap: 14px; }
.panel { background: #fff; border: 1px solid #dfe3e8; border-radius: 6px; padding: 6px; }
svg.chart { font-size: 11px; display: block; }
svg .title { font-size: 13px; font-weight: 600; fill: #1d232b; }
svg .label { fill: #4a525c; font-size: 12px; } svg .tick { fill: #5c6570; } svg .legend { fill: #1d232b; }
svg .muted { fill: #8a8f98; } svg .cell { font-size: 11px; }
svg .plot { fill: #fbfcfd; stroke: #c9ced6; } svg .grid { stroke: #e6e9ee; }
table { border-collapse: collapse; background: #fff; font-size: 13px; }
td, th { border: 1px solid #dfe3e8; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #eef1f4; }
.kind-skip { color: #b7791f; font-weight: 600; } .kind-rollback { color: #c53030; font-weight: 600; }
.kind-stop { color: #000; font-weight: 700; } .kind-checkpoint { color: #2f855a; }
.none { color: #5c6570; font-style: italic; }
)";

}  // namespace

RunReport::RunReport(std::string title) : title_(std::move(title)) {}

void RunReport::add_config(const std::string& key, const std::string& value) { config_.emplace_back(key, value); }

void RunReport::log_step(int64_t step, double loss, double lr, double samples_per_sec) {
  steps_.push_back({step, loss, lr, samples_per_sec});
}

void RunReport::log_epoch(int64_t epoch, int64_t step, const NamedValues& metrics) {
  epochs_.push_back({epoch, step, metrics});
}

void RunReport::add_event(int64_t step, const std::string& kind, const std::string& text) {
  events_.push_back({step, kind, text});
}

void RunReport::set_confusion_matrix(const ConfusionMatrix& cm) {
  classes_ = cm.num_classes();
  class_names_ = cm.class_names();
  if (class_names_.size() != static_cast<size_t>(classes_)) {
    class_names_.clear();
    for (int64_t i = 0; i < classes_; ++i) class_names_.push_back(std::to_string(i));
  }
  confusion_.clear();
  for (int64_t t = 0; t < classes_; ++t)
    for (int64_t p = 0; p < classes_; ++p) confusion_.push_back(cm.count(t, p));
}

void RunReport::set_calibration(const CalibrationError& ece) {
  bin_counts_ = ece.bin_counts();
  bin_confidence_ = ece.bin_confidence();
  bin_accuracy_ = ece.bin_accuracy();
  ece_ = ece.compute();
}

std::string RunReport::html() const {
  std::ostringstream h;
  h << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << escape(title_)
    << "</title>\n<style>" << kStyle << "</style></head><body>\n";
  h << "<h1>" << escape(title_) << "</h1>\n<div class=\"sub\">";
  for (size_t i = 0; i < config_.size(); ++i)
    h << (i ? " &middot; " : "") << escape(config_[i].first) << " <b>" << escape(config_[i].second) << "</b>";
  h << "</div>\n";

  // Headline numbers: the last epoch's metrics, steps, guard actions.
  int skips = 0, rollbacks = 0, stops = 0;
  for (const Event& e : events_) {
    skips += e.kind == "skip";
    rollbacks += e.kind == "rollback";
    stops += e.kind == "stop";
  }
  h << "<div class=\"cards\">";
  // The final evaluation's accuracy and ECE stand for the last epoch's.
  if (!epochs_.empty())
    for (const auto& [name, v] : epochs_.back().metrics) {
      if (!confusion_.empty() && name.find("accuracy") != std::string::npos) continue;
      if (!bin_counts_.empty() && name.find("ece") != std::string::npos) continue;
      h << "<div class=\"card\"><b>" << fmt(v) << "</b><span>" << escape(name) << " (last epoch)</span></div>";
    }
  if (!confusion_.empty()) {
    int64_t right = 0, total = 0;
    for (int64_t t = 0; t < classes_; ++t)
      for (int64_t p = 0; p < classes_; ++p) {
        total += confusion_[static_cast<size_t>(t * classes_ + p)];
        if (t == p) right += confusion_[static_cast<size_t>(t * classes_ + p)];
      }
    h << "<div class=\"card\"><b>" << fmt(total ? static_cast<double>(right) / static_cast<double>(total) : 0.0)
      << "</b><span>final accuracy</span></div>";
  }
  if (!bin_counts_.empty())
    h << "<div class=\"card\"><b>" << fmt(ece_) << "</b><span>expected calibration error</span></div>";
  h << "<div class=\"card\"><b>" << steps_.size() << "</b><span>steps run (replays included)</span></div>";
  h << "<div class=\"card\"><b>" << skips << " / " << rollbacks << (stops ? " / stop" : "")
    << "</b><span>guard: skips / rollbacks</span></div>";
  h << "</div>\n";

  // A rollback replays steps: the curves show each step's last run, and the
  // loss of the runs that were rolled back is drawn apart ("abandoned").
  std::map<int64_t, size_t> latest;
  for (size_t i = 0; i < steps_.size(); ++i) latest[steps_[i].step] = i;
  std::vector<double> x, loss, lr, speed, ax, ay;
  for (const auto& [step, i] : latest) {
    x.push_back(static_cast<double>(step));
    loss.push_back(steps_[i].loss);
    lr.push_back(steps_[i].lr);
    speed.push_back(steps_[i].samples_per_sec);
  }
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (latest[steps_[i].step] == i) continue;
    if (!ax.empty() && (i == 0 || latest[steps_[i - 1].step] == i - 1)) {  // a new abandoned stretch
      ax.push_back(ax.back());
      ay.push_back(NAN);
    }
    ax.push_back(static_cast<double>(steps_[i].step));
    ay.push_back(steps_[i].loss);
  }
  std::vector<svg::Marker> markers;
  for (const Event& e : events_) {
    const char* c = marker_color(e.kind);
    if (*c) markers.push_back({static_cast<double>(e.step), c, "step " + std::to_string(e.step) + " " + e.kind + ": " + e.text});
  }
  const size_t most = 1200;
  std::vector<double> dx, dy;

  h << "<h2>Training curves</h2>\n<div class=\"grid2\">\n";
  {
    std::vector<svg::Series> s;
    downsample(x, loss, most, dx, dy);
    s.push_back({"train loss", "#9db4d3", dx, dy, false, 1.0, 0.9});
    if (!ax.empty()) s.push_back({"rolled back", "#e0413a", ax, ay, false, 1.2, 0.8});
    // About a twentieth of the run, at most 50 steps, is the smoothing's memory.
    const double memory = std::clamp(static_cast<double>(loss.size()) / 20.0, 1.0, 50.0);
    std::vector<double> sm = smooth(loss, 1.0 - 1.0 / memory), sx, sy;
    downsample(x, sm, most, sx, sy);
    s.push_back({"smoothed", "#1f5aa6", sx, sy, false, 2.0, 1.0});
    svg::Series test{"test loss", "#2f855a", {}, {}, true, 1.5, 1.0};
    for (const Epoch& e : epochs_)
      for (const auto& [name, v] : e.metrics)
        if (name.find("loss") != std::string::npos) {
          test.x.push_back(static_cast<double>(e.step));
          test.y.push_back(v);
        }
    if (!test.x.empty()) s.push_back(test);
    svg::ChartOptions o;
    o.title = "Loss (guard actions dashed: skip orange, rollback red)";
    o.x_label = "step";
    o.y_label = "loss";
    o.log_y = true;
    h << "<div class=\"panel\">" << svg::line_chart(o, s, markers) << "</div>\n";
  }
  {
    std::vector<svg::Series> s;
    for (const char* key : {"accuracy", "f1"}) {
      svg::Series acc{"", key[0] == 'a' ? "#1f5aa6" : "#b7791f", {}, {}, true, 1.5, 1.0};
      for (const Epoch& e : epochs_)
        for (const auto& [name, v] : e.metrics)
          if (name.find(key) != std::string::npos) {
            acc.name = name;
            acc.x.push_back(static_cast<double>(e.epoch + 1));
            acc.y.push_back(v);
          }
      if (!acc.x.empty()) s.push_back(acc);
    }
    svg::ChartOptions o;
    o.title = "Test accuracy per epoch";
    o.integer_x = true;
    o.x_label = "epoch";
    o.y_label = "accuracy";
    h << "<div class=\"panel\">" << svg::line_chart(o, s) << "</div>\n";
  }
  {
    downsample(x, lr, most, dx, dy);
    svg::ChartOptions o;
    o.title = "Learning rate";
    o.x_label = "step";
    o.y_label = "lr";
    o.y_from_zero = true;
    h << "<div class=\"panel\">" << svg::line_chart(o, {{"lr", "#6b46c1", dx, dy, false, 2.0, 1.0}}, markers)
      << "</div>\n";
  }
  {
    downsample(x, speed, most, dx, dy);
    svg::ChartOptions o;
    o.title = "Throughput";
    o.x_label = "step";
    o.y_label = "samples / s";
    o.y_from_zero = true;
    h << "<div class=\"panel\">" << svg::line_chart(o, {{"samples/s", "#2c7a7b", dx, dy, false, 1.5, 1.0}}) << "</div>\n";
  }
  h << "</div>\n";

  if (!confusion_.empty() || !bin_counts_.empty()) {
    h << "<h2>Final evaluation</h2>\n<div class=\"grid2\">\n";
    if (!confusion_.empty())
      h << "<div class=\"panel\">"
        << svg::heat_map("Confusion matrix (shade: share of the true class)", class_names_, confusion_) << "</div>\n";
    if (!bin_counts_.empty())
      h << "<div class=\"panel\">"
        << svg::reliability_diagram("Reliability diagram, ECE " + fmt(ece_), bin_counts_, bin_confidence_,
                                    bin_accuracy_)
        << "</div>\n";
    h << "</div>\n";
  }

  h << "<h2>Health guard actions</h2>\n";
  std::string kept;
  int actions = 0;
  for (const Event& e : events_) {
    if (e.kind == "checkpoint") kept += (kept.empty() ? "" : ", ") + std::to_string(e.step);
    else ++actions;
  }
  if (actions == 0) {
    h << "<p class=\"none\">none: every step was accepted</p>\n";
  } else {
    h << "<table><tr><th>step</th><th>action</th><th>what was seen and done</th></tr>\n";
    for (const Event& e : events_)
      if (e.kind != "checkpoint")
        h << "<tr><td>" << e.step << "</td><td class=\"kind-" << escape(e.kind) << "\">" << escape(e.kind)
          << "</td><td>" << escape(e.text) << "</td></tr>\n";
    h << "</table>\n";
  }
  if (!kept.empty()) h << "<p class=\"sub\">good states kept (the state before these steps): " << kept << "</p>\n";

  if (!epochs_.empty()) {
    h << "<h2>Per epoch</h2>\n<table><tr><th>epoch</th><th>step</th>";
    for (const auto& [name, v] : epochs_.front().metrics) h << "<th>" << escape(name) << "</th>";
    h << "</tr>\n";
    for (const Epoch& e : epochs_) {
      h << "<tr><td>" << e.epoch + 1 << "</td><td>" << e.step << "</td>";
      for (const auto& [name, v] : e.metrics) h << "<td>" << fmt(v) << "</td>";
      h << "</tr>\n";
    }
    h << "</table>\n";
  }
  h << "</body></html>\n";
  return h.str();
}

void RunReport::write_html(const std::string& path) const {
  const std::string page = html();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  KILN_CHECK(f.good(), IOError, "RunReport::write_html: cannot open ", path, " for writing");
  f << page;
  f.close();
  KILN_CHECK(f.good(), IOError, "RunReport::write_html: writing ", path, " failed");
}

}  // namespace kiln::metrics
