// SVG drawings of the run report: plain strings, one element per mark.
#include "metrics/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace kiln::metrics::svg {

namespace {

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

// A tick label: short, without trailing zeros; `step` (the tick spacing,
// when known) sets how many decimals tell neighbouring ticks apart.
std::string tick_text(double v, double step = 0) {
  char buf[32];
  if (v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3) && !(step > 0 && std::abs(v) < 1e5)) {
    std::snprintf(buf, sizeof(buf), "%.0e", v);
  } else if (step > 0) {
    const int decimals = std::clamp(static_cast<int>(-std::floor(std::log10(step) + 1e-9)), 0, 8);
    std::snprintf(buf, sizeof(buf), "%.*f", decimals, v);
  } else {
    std::snprintf(buf, sizeof(buf), "%.4g", v);
  }
  return buf;
}

// About `target` round ticks (1, 2 or 5 times a power of ten) covering [lo, hi].
std::vector<double> nice_ticks(double lo, double hi, int target = 5, bool integers = false) {
  if (!(hi > lo)) return {lo};
  double raw = (hi - lo) / target;
  if (integers) raw = std::max(raw, 1.0);
  const double mag = std::pow(10.0, std::floor(std::log10(raw)));
  double step = mag;
  for (double m : {1.0, 2.0, 5.0, 10.0})
    if (m * mag >= raw) {
      step = m * mag;
      break;
    }
  std::vector<double> t;
  for (double v = std::ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) t.push_back(std::abs(v) < step * 1e-9 ? 0 : v);
  return t;
}

}  // namespace

std::string escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&#39;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string line_chart(const ChartOptions& o, const std::vector<Series>& series, const std::vector<Marker>& markers) {
  const double left = 64, right = 16, top = 30, bottom = 44;
  const double pw = o.width - left - right, ph = o.height - top - bottom;
  auto ty = [&](double y) { return o.log_y ? std::log10(y) : y; };
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const Series& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = s.y[i];
      if (!std::isfinite(y) || (o.log_y && y <= 0)) continue;
      x0 = std::min(x0, s.x[i]);
      x1 = std::max(x1, s.x[i]);
      y0 = std::min(y0, ty(y));
      y1 = std::max(y1, ty(y));
    }
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << o.width << "\" height=\"" << o.height
     << "\" viewBox=\"0 0 " << o.width << " " << o.height << "\" class=\"chart\">\n";
  os << "<text x=\"" << left << "\" y=\"18\" class=\"title\">" << escape(o.title) << "</text>\n";
  if (!std::isfinite(x0)) {
    os << "<text x=\"" << o.width / 2 << "\" y=\"" << o.height / 2 << "\" text-anchor=\"middle\" class=\"muted\">no data</text>\n</svg>\n";
    return os.str();
  }
  if (o.y_from_zero && !o.log_y) y0 = std::min(y0, 0.0);
  if (x1 == x0) x1 = x0 + 1;
  if (y1 == y0) {
    y0 -= 0.5;
    y1 += 0.5;
  }
  const double pad = (y1 - y0) * 0.05;
  if (!(o.y_from_zero && y0 == 0)) y0 -= pad;
  y1 += pad;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * pw; };
  auto py = [&](double y) { return top + (1 - (ty(y) - y0) / (y1 - y0)) * ph; };
  auto py_t = [&](double t) { return top + (1 - (t - y0) / (y1 - y0)) * ph; };

  os << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << pw << "\" height=\"" << ph
     << "\" class=\"plot\"/>\n";
  // Grid and tick labels.
  if (o.log_y) {
    // Powers of ten, and 2 and 5 times them when the range is under two decades.
    const bool fine = y1 - y0 < 2;
    for (double e = std::floor(y0); e <= y1; e += 1)
      for (double m : {1.0, 2.0, 5.0}) {
        if (m != 1.0 && !fine) continue;
        const double t = e + std::log10(m);
        if (t < y0 || t > y1) continue;
        os << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << num(py_t(t)) << "\" y2=\""
           << num(py_t(t)) << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << num(py_t(t) + 4)
           << "\" text-anchor=\"end\" class=\"tick\">" << tick_text(m * std::pow(10.0, e)) << "</text>\n";
      }
  } else {
    const std::vector<double> ticks = nice_ticks(y0, y1);
    const double spacing = ticks.size() > 1 ? ticks[1] - ticks[0] : 0;
    for (double t : ticks)
      os << "<line x1=\"" << left << "\" x2=\"" << left + pw << "\" y1=\"" << num(py_t(t)) << "\" y2=\""
         << num(py_t(t)) << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << num(py_t(t) + 4)
         << "\" text-anchor=\"end\" class=\"tick\">" << tick_text(t, spacing) << "</text>\n";
  }
  const std::vector<double> xticks = nice_ticks(x0, x1, 6, o.integer_x);
  const double xspacing = xticks.size() > 1 ? xticks[1] - xticks[0] : 0;
  for (double t : xticks)
    os << "<line x1=\"" << num(px(t)) << "\" x2=\"" << num(px(t)) << "\" y1=\"" << top << "\" y2=\"" << top + ph
       << "\" class=\"grid\"/><text x=\"" << num(px(t)) << "\" y=\"" << top + ph + 16
       << "\" text-anchor=\"middle\" class=\"tick\">" << tick_text(t, xspacing) << "</text>\n";
  os << "<text x=\"" << left + pw / 2 << "\" y=\"" << o.height - 8 << "\" text-anchor=\"middle\" class=\"label\">"
     << escape(o.x_label) << "</text>\n";
  os << "<text transform=\"translate(14 " << top + ph / 2 << ") rotate(-90)\" text-anchor=\"middle\" class=\"label\">"
     << escape(o.y_label) << (o.log_y ? " (log)" : "") << "</text>\n";
  // Event markers under the data.
  for (const Marker& m : markers) {
    if (m.x < x0 || m.x > x1) continue;
    os << "<line x1=\"" << num(px(m.x)) << "\" x2=\"" << num(px(m.x)) << "\" y1=\"" << top << "\" y2=\"" << top + ph
       << "\" stroke=\"" << m.color << "\" stroke-width=\"1.5\" stroke-opacity=\"0.7\" stroke-dasharray=\"4 3\"><title>"
       << escape(m.label) << "</title></line>\n";
  }
  // Series.
  for (const Series& s : series) {
    std::string d;
    bool pen_down = false;
    for (size_t i = 0; i < s.x.size(); ++i) {
      const double y = s.y[i];
      if (!std::isfinite(y) || (o.log_y && y <= 0)) {
        pen_down = false;
        continue;
      }
      d += (pen_down ? " L" : " M") + num(px(s.x[i])) + " " + num(py(y));
      pen_down = true;
    }
    if (!d.empty())
      os << "<path d=\"" << d << "\" fill=\"none\" stroke=\"" << s.color << "\" stroke-width=\"" << s.width
         << "\" stroke-opacity=\"" << s.opacity << "\" stroke-linejoin=\"round\"/>\n";
    if (s.points)
      for (size_t i = 0; i < s.x.size(); ++i)
        if (std::isfinite(s.y[i]) && !(o.log_y && s.y[i] <= 0))
          os << "<circle cx=\"" << num(px(s.x[i])) << "\" cy=\"" << num(py(s.y[i])) << "\" r=\"3.5\" fill=\""
             << s.color << "\"><title>" << escape(s.name) << ": " << tick_text(s.y[i]) << "</title></circle>\n";
  }
  // Legend, top right.
  double lx = left + pw - 8;
  for (auto it = series.rbegin(); it != series.rend(); ++it) {
    const double w = 7.0 * static_cast<double>(it->name.size()) + 26;
    lx -= w;
    os << "<rect x=\"" << num(lx) << "\" y=\"" << top + 8 << "\" width=\"14\" height=\"4\" fill=\"" << it->color
       << "\"/><text x=\"" << num(lx + 18) << "\" y=\"" << top + 14 << "\" class=\"legend\">" << escape(it->name)
       << "</text>\n";
  }
  os << "</svg>\n";
  return os.str();
}

std::string heat_map(const std::string& title, const std::vector<std::string>& labels,
                     const std::vector<int64_t>& cells, int cell) {
  const int n = static_cast<int>(labels.size());
  const int left = 110, top = 40, bottom = 100;
  const int width = left + n * cell + 20, height = top + n * cell + bottom;
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
     << width << " " << height << "\" class=\"chart\">\n";
  os << "<text x=\"" << left << "\" y=\"18\" class=\"title\">" << escape(title) << "</text>\n";
  os << "<text x=\"" << left + n * cell / 2 << "\" y=\"34\" text-anchor=\"middle\" class=\"label\">predicted class</text>\n";
  for (int r = 0; r < n; ++r) {
    int64_t row_total = 0;
    for (int c = 0; c < n; ++c) row_total += cells[static_cast<size_t>(r * n + c)];
    for (int c = 0; c < n; ++c) {
      const int64_t v = cells[static_cast<size_t>(r * n + c)];
      const double share = row_total > 0 ? static_cast<double>(v) / static_cast<double>(row_total) : 0.0;
      // White to deep blue; off-diagonal mistakes in red so they stand out.
      const double t = std::sqrt(share);
      const bool diag = r == c;
      const int red = diag ? static_cast<int>(255 - t * (255 - 31)) : 255 - static_cast<int>(t * (255 - 200));
      const int green = diag ? static_cast<int>(255 - t * (255 - 90)) : static_cast<int>(255 - t * (255 - 40));
      const int blue = diag ? static_cast<int>(255 - t * (255 - 170)) : static_cast<int>(255 - t * (255 - 40));
      os << "<rect x=\"" << left + c * cell << "\" y=\"" << top + r * cell << "\" width=\"" << cell << "\" height=\""
         << cell << "\" fill=\"rgb(" << red << "," << green << "," << blue << ")\" stroke=\"#fff\"><title>"
         << escape(labels[r]) << " predicted as " << escape(labels[c]) << ": " << v << "</title></rect>\n";
      if (v > 0)
        os << "<text x=\"" << left + c * cell + cell / 2 << "\" y=\"" << top + r * cell + cell / 2 + 4
           << "\" text-anchor=\"middle\" class=\"cell\" fill=\"" << (t > 0.6 ? "#fff" : "#222") << "\">" << v
           << "</text>\n";
    }
    os << "<text x=\"" << left - 6 << "\" y=\"" << top + r * cell + cell / 2 + 4 << "\" text-anchor=\"end\" class=\"tick\">"
       << escape(labels[r]) << "</text>\n";
  }
  for (int c = 0; c < n; ++c)
    os << "<text transform=\"translate(" << left + c * cell + cell / 2 + 4 << " " << top + n * cell + 8
       << ") rotate(-50)\" text-anchor=\"end\" class=\"tick\">" << escape(labels[c]) << "</text>\n";
  os << "<text transform=\"translate(14 " << top + n * cell / 2 << ") rotate(-90)\" text-anchor=\"middle\" class=\"label\">true class</text>\n";
  os << "</svg>\n";
  return os.str();
}

std::string reliability_diagram(const std::string& title, const std::vector<int64_t>& counts,
                                const std::vector<double>& confidence, const std::vector<double>& accuracy) {
  const double left = 56, top = 30, size = 300, gap = 14, hist = 70, bottom = 40;
  const double width = left + size + 20, height = top + size + gap + hist + bottom;
  const size_t bins = counts.size();
  int64_t total = 0, most = 0;
  for (int64_t c : counts) {
    total += c;
    most = std::max(most, c);
  }
  auto px = [&](double v) { return left + v * size; };
  auto py = [&](double v) { return top + (1 - v) * size; };
  std::ostringstream os;
  os << "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" << width << "\" height=\"" << height << "\" viewBox=\"0 0 "
     << width << " " << height << "\" class=\"chart\">\n";
  os << "<text x=\"" << left << "\" y=\"18\" class=\"title\">" << escape(title) << "</text>\n";
  os << "<rect x=\"" << left << "\" y=\"" << top << "\" width=\"" << size << "\" height=\"" << size << "\" class=\"plot\"/>\n";
  for (double t = 0; t <= 1.0001; t += 0.2) {
    os << "<line x1=\"" << left << "\" x2=\"" << left + size << "\" y1=\"" << num(py(t)) << "\" y2=\"" << num(py(t))
       << "\" class=\"grid\"/><text x=\"" << left - 6 << "\" y=\"" << num(py(t) + 4) << "\" text-anchor=\"end\" class=\"tick\">"
       << tick_text(t) << "</text>\n";
    os << "<text x=\"" << num(px(t)) << "\" y=\"" << top + size + gap + hist + 16 << "\" text-anchor=\"middle\" class=\"tick\">"
       << tick_text(t) << "</text>\n";
  }
  const double bw = size / static_cast<double>(std::max<size_t>(bins, 1));
  for (size_t b = 0; b < bins; ++b) {
    if (counts[b] == 0) continue;
    const double x = left + bw * static_cast<double>(b);
    const double acc = accuracy[b], conf = confidence[b];
    os << "<rect x=\"" << num(x + 1) << "\" y=\"" << num(py(acc)) << "\" width=\"" << num(bw - 2) << "\" height=\""
       << num(py(0) - py(acc)) << "\" fill=\"#1f5aa6\"><title>confidence " << tick_text(conf) << ", accuracy "
       << tick_text(acc) << ", " << counts[b] << " examples</title></rect>\n";
    // The gap between accuracy and confidence: what the ECE adds up.
    const double a = std::min(acc, conf), c = std::max(acc, conf);
    os << "<rect x=\"" << num(x + 1) << "\" y=\"" << num(py(c)) << "\" width=\"" << num(bw - 2) << "\" height=\""
       << num(py(a) - py(c)) << "\" fill=\"#e0413a\" fill-opacity=\"0.45\" stroke=\"#e0413a\"/>\n";
    const double h = most > 0 ? hist * static_cast<double>(counts[b]) / static_cast<double>(most) : 0;
    os << "<rect x=\"" << num(x + 1) << "\" y=\"" << num(top + size + gap + hist - h) << "\" width=\"" << num(bw - 2)
       << "\" height=\"" << num(h) << "\" fill=\"#8a8f98\"><title>" << counts[b] << " of " << total
       << " examples</title></rect>\n";
  }
  os << "<line x1=\"" << px(0) << "\" y1=\"" << py(0) << "\" x2=\"" << px(1) << "\" y2=\"" << py(1)
     << "\" stroke=\"#333\" stroke-dasharray=\"5 4\"/>\n";
  os << "<text x=\"" << left + size / 2 << "\" y=\"" << height - 6 << "\" text-anchor=\"middle\" class=\"label\">confidence (largest probability)</text>\n";
  os << "<text transform=\"translate(14 " << top + size / 2 << ") rotate(-90)\" text-anchor=\"middle\" class=\"label\">accuracy</text>\n";
  os << "<text x=\"" << left + 6 << "\" y=\"" << top + size + gap + 12 << "\" class=\"muted\">examples per bin</text>\n";
  os << "<rect x=\"" << left + 8 << "\" y=\"" << top + 10 << "\" width=\"12\" height=\"10\" fill=\"#1f5aa6\"/><text x=\"" << left + 24
     << "\" y=\"" << top + 19 << "\" class=\"legend\">accuracy</text><rect x=\"" << left + 92 << "\" y=\"" << top + 10
     << "\" width=\"12\" height=\"10\" fill=\"#e0413a\" fill-opacity=\"0.45\" stroke=\"#e0413a\"/><text x=\"" << left + 108
     << "\" y=\"" << top + 19 << "\" class=\"legend\">gap to confidence</text>\n";
  os << "</svg>\n";
  return os.str();
}

}  // namespace kiln::metrics::svg
