// operator<< for tensors, in PyTorch's Python style:
// tensor([[ 1.0000, -2.5000],
//         [ 0.0000,  3.1416]], dtype=float64, requires_grad=True)
#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

#include "autograd/node.h"
#include "kiln/core/grad_mode.h"
#include "kiln/core/tensor.h"

namespace kiln {

namespace {

constexpr int64_t kSummarizeThreshold = 1000;  // elements before "..." appears
constexpr int64_t kEdgeItems = 3;

struct Format {
  bool floating = false;
  bool sci = false;
  bool int_valued = false;  // floats that are all whole numbers print as "1."
  int precision = 4;
  int width = 1;
};

std::string format_value(double v, const Format& f) {
  std::ostringstream os;
  if (!f.floating) {
    os << static_cast<int64_t>(v);
  } else if (std::isnan(v)) {
    os << "nan";
  } else if (std::isinf(v)) {
    os << (v > 0 ? "inf" : "-inf");
  } else if (f.sci) {
    os << std::scientific << std::setprecision(f.precision) << v;
  } else if (f.int_valued) {
    os << std::fixed << std::setprecision(0) << v << ".";
  } else {
    os << std::fixed << std::setprecision(f.precision) << v;
  }
  return os.str();
}

Format choose_format(const std::vector<double>& values, bool floating) {
  Format f;
  f.floating = floating;
  if (floating) {
    double max_abs = 0, min_abs = std::numeric_limits<double>::infinity();
    bool all_int = true;
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      max_abs = std::max(max_abs, std::abs(v));
      if (v != 0) min_abs = std::min(min_abs, std::abs(v));
      all_int = all_int && std::nearbyint(v) == v;
    }
    f.int_valued = all_int;
    if (!all_int && std::isfinite(min_abs) && (max_abs / min_abs > 1000.0 || max_abs > 1e8 || min_abs < 1e-4))
      f.sci = true;
    if (all_int && max_abs > 1e8) f.sci = true;
  }
  // Like PyTorch, the column width comes from the finite values only.
  for (double v : values)
    if (std::isfinite(v)) f.width = std::max<int>(f.width, static_cast<int>(format_value(v, f).size()));
  return f;
}

void print_dim(std::ostream& os, const Tensor& t, const Format& f, int64_t depth, bool summarize,
               const std::string& indent) {
  if (t.dim() == 0) {
    os << std::setw(f.width) << format_value(t.item<double>(), f);
    return;
  }
  const int64_t n = t.size(0);
  os << "[";
  auto print_item = [&](int64_t i) {
    if (t.dim() == 1) os << std::setw(f.width) << format_value(t.select(0, i).item<double>(), f);
    else print_dim(os, t.select(0, i), f, depth + 1, summarize, indent + " ");
  };
  const std::string sep = t.dim() == 1 ? ", " : ",\n" + std::string(static_cast<size_t>(t.dim() - 1) > 1 ? t.dim() - 2 : 0, '\n') + indent + " ";
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) {
      os << (t.dim() == 1 ? " ..." : "...") << sep;  // PyTorch pads the 1-D ellipsis
      i = n - kEdgeItems;
    }
    print_item(i);
    if (i + 1 < n) os << sep;
  }
  os << "]";
}

// Values that will be shown (edges only when summarizing), for the format.
void collect(const Tensor& t, bool summarize, std::vector<double>& out) {
  if (t.dim() == 0) {
    out.push_back(t.item<double>());
    return;
  }
  const int64_t n = t.size(0);
  for (int64_t i = 0; i < n; ++i) {
    if (summarize && n > 2 * kEdgeItems && i == kEdgeItems) i = n - kEdgeItems;
    collect(t.select(0, i), summarize, out);
  }
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const Tensor& t) {
  if (!t.defined()) return os << "tensor(undefined)";
  NoGradGuard no_grad;
  Tensor c = t.detach().to(Device(kCPU));
  if (!is_floating(c.dtype()) && c.dtype() != kBool) c = c.to(kInt64);
  const bool summarize = c.numel() > kSummarizeThreshold;
  std::vector<double> shown;
  if (c.numel() > 0) collect(c.to(kFloat64), summarize, shown);
  Format f = choose_format(shown, is_floating(c.dtype()));
  os << "tensor(";
  if (c.numel() == 0) {
    os << "[]";
  } else if (c.dtype() == kBool) {
    std::ostringstream body;
    print_dim(body, c.to(kInt64), Format{}, 0, summarize, "       ");
    std::string s = body.str();
    // 0/1 -> False/True, padded like PyTorch.
    std::string r;
    for (char ch : s) r += ch == '1' ? std::string(" True") : (ch == '0' ? std::string("False") : std::string(1, ch));
    os << r;
  } else {
    print_dim(os, c.to(kFloat64), f, 0, summarize, "       ");
  }
  std::vector<std::string> extras;
  if (t.numel() == 0 && t.dim() != 1) {
    // PyTorch prints the size as a Python tuple: size=(0, 3).
    std::string s = shape_str(t.sizes());
    extras.push_back("size=(" + s.substr(1, s.size() - 2) + ")");
  }
  if (!t.device().is_cpu()) extras.push_back("device='" + t.device().str() + "'");
  if (t.dtype() != kFloat32 && t.dtype() != kInt64 && t.dtype() != kBool) extras.push_back(std::string("dtype=kiln.") + dtype_name(t.dtype()));
  if (t.grad_fn()) extras.push_back("grad_fn=<" + t.grad_fn()->name() + ">");
  else if (t.requires_grad()) extras.push_back("requires_grad=True");
  for (const auto& e : extras) os << ", " << e;
  return os << ")";
}

std::string Tensor::str() const {
  std::ostringstream os;
  os << *this;
  return os.str();
}

}  // namespace kiln
