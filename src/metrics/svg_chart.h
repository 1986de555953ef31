// Small SVG drawings for the run report (src/metrics/run_report.cpp): a line
// chart with axes and event markers, a heat map, a reliability diagram.
// Each returns one <svg> element as text, sized in CSS pixels.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace kiln::metrics::svg {

// Text safe inside HTML/SVG elements and attributes.
std::string escape(const std::string& text);

struct Series {
  std::string name, color;
  std::vector<double> x, y;  // non-finite y values break the line
  bool points = false;       // dots (and a line through them) instead of a bare line
  double width = 1.5, opacity = 1.0;
};
struct Marker {
  double x;
  std::string color, label;  // label: the marker's tooltip
};

struct ChartOptions {
  std::string title, x_label, y_label;
  int width = 560, height = 300;
  bool log_y = false;
  bool y_from_zero = false;
  bool integer_x = false;  // x ticks at whole numbers only (epochs)
};

std::string line_chart(const ChartOptions& options, const std::vector<Series>& series,
                       const std::vector<Marker>& markers = {});

// cells[r * n + c]; shade by each row's share (so every true class reads as
// its recall), the count printed in the cell.
std::string heat_map(const std::string& title, const std::vector<std::string>& labels,
                     const std::vector<int64_t>& cells, int cell_px = 40);

// Per confidence bin (equal width over [0, 1]): accuracy as bars, the gap
// to the bin's mean confidence shaded, the diagonal of perfect calibration,
// and the share of examples per bin below.
std::string reliability_diagram(const std::string& title, const std::vector<int64_t>& counts,
                                const std::vector<double>& confidence, const std::vector<double>& accuracy);

}  // namespace kiln::metrics::svg
