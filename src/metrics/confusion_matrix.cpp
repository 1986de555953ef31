#include "kiln/metrics/confusion_matrix.h"

#include <algorithm>
#include <iomanip>
#include <sstream>

#include "kiln/metrics/classification.h"
#include "kiln/ops/factory.h"

namespace kiln::metrics {

ConfusionMatrix::ConfusionMatrix(int64_t num_classes, std::vector<std::string> class_names)
    : c_(num_classes), names_(std::move(class_names)) {
  KILN_CHECK(num_classes >= 1, ValueError, "ConfusionMatrix: num_classes must be >= 1, got ", num_classes);
  KILN_CHECK(names_.empty() || static_cast<int64_t>(names_.size()) == num_classes, ValueError,
             "ConfusionMatrix: ", names_.size(), " class names for ", num_classes, " classes");
  if (names_.empty())
    for (int64_t i = 0; i < c_; ++i) names_.push_back(std::to_string(i));
  counts_.assign(static_cast<size_t>(c_ * c_), 0);
}

void ConfusionMatrix::update(const Tensor& logits_or_preds, const Tensor& targets) {
  std::vector<int64_t> t = detail::target_classes("ConfusionMatrix", targets);
  if (logits_or_preds.dim() == 2)
    KILN_CHECK(logits_or_preds.size(1) == c_, ShapeError, "ConfusionMatrix: scores ",
               shape_str(logits_or_preds.sizes()), " have ", logits_or_preds.size(1), " classes, expected ", c_);
  std::vector<int64_t> p = detail::predicted_classes("ConfusionMatrix", logits_or_preds, int64_t(t.size()));
  update(p, t);
}

void ConfusionMatrix::update(const std::vector<int64_t>& preds, const std::vector<int64_t>& targets) {
  KILN_CHECK(preds.size() == targets.size(), ShapeError, "ConfusionMatrix: ", preds.size(), " predictions but ",
             targets.size(), " targets");
  // Check everything first so a bad batch leaves the counts untouched.
  for (size_t i = 0; i < preds.size(); ++i) {
    KILN_CHECK(targets[i] >= 0 && targets[i] < c_, ValueError, "ConfusionMatrix: target ", targets[i], " at ", i,
               " is outside [0, ", c_, ")");
    KILN_CHECK(preds[i] >= 0 && preds[i] < c_, ValueError, "ConfusionMatrix: prediction ", preds[i], " at ", i,
               " is outside [0, ", c_, ")");
  }
  for (size_t i = 0; i < preds.size(); ++i) ++counts_[size_t(targets[i] * c_ + preds[i])];
}

void ConfusionMatrix::reset() { std::fill(counts_.begin(), counts_.end(), 0); }

Tensor ConfusionMatrix::matrix() const { return tensor(counts_, {c_, c_}, kInt64); }

int64_t ConfusionMatrix::total() const {
  int64_t s = 0;
  for (int64_t v : counts_) s += v;
  return s;
}

int64_t ConfusionMatrix::support(int64_t cls) const {
  int64_t s = 0;
  for (int64_t p = 0; p < c_; ++p) s += count(cls, p);
  return s;
}

int64_t ConfusionMatrix::predicted(int64_t cls) const {
  int64_t s = 0;
  for (int64_t t = 0; t < c_; ++t) s += count(t, cls);
  return s;
}

double ConfusionMatrix::precision(int64_t cls) const {
  const int64_t d = predicted(cls);
  return d ? static_cast<double>(tp(cls)) / d : 0.0;
}

double ConfusionMatrix::recall(int64_t cls) const {
  const int64_t d = support(cls);
  return d ? static_cast<double>(tp(cls)) / d : 0.0;
}

double ConfusionMatrix::f1(int64_t cls) const {
  const double p = precision(cls), r = recall(cls);
  return p + r > 0 ? 2 * p * r / (p + r) : 0.0;
}

template <class Score>
double ConfusionMatrix::macro(Score score) const {
  double sum = 0;
  int64_t n = 0;
  for (int64_t k = 0; k < c_; ++k) {
    if (!occurs(k)) continue;
    sum += score(k);
    ++n;
  }
  return n ? sum / n : 0.0;
}

double ConfusionMatrix::macro_precision() const { return macro([&](int64_t k) { return precision(k); }); }
double ConfusionMatrix::macro_recall() const { return macro([&](int64_t k) { return recall(k); }); }
double ConfusionMatrix::macro_f1() const { return macro([&](int64_t k) { return f1(k); }); }

double ConfusionMatrix::accuracy() const {
  const int64_t n = total();
  int64_t trace = 0;
  for (int64_t k = 0; k < c_; ++k) trace += tp(k);
  return n ? static_cast<double>(trace) / n : 0.0;
}

std::string ConfusionMatrix::str() const {
  size_t name_w = 9;  // wide enough for "macro avg"
  for (const auto& s : names_) name_w = std::max(name_w, s.size());
  int64_t biggest = 1;
  for (int64_t v : counts_) biggest = std::max(biggest, v);
  const int index_w = static_cast<int>(std::to_string(c_ - 1).size());
  const int cell_w = std::max<int>(static_cast<int>(std::to_string(biggest).size()), index_w) + 1;
  const int name_wi = static_cast<int>(name_w);
  std::ostringstream os;
  os << "confusion matrix (rows: true class, columns: predicted class)\n";
  os << std::string(size_t(index_w + 1 + name_wi + 2), ' ');
  for (int64_t p = 0; p < c_; ++p) os << std::setw(cell_w) << p;
  os << '\n';
  for (int64_t t = 0; t < c_; ++t) {
    os << std::setw(index_w) << t << ' ' << std::left << std::setw(name_wi) << names_[size_t(t)] << std::right
       << " |";
    for (int64_t p = 0; p < c_; ++p) os << std::setw(cell_w) << count(t, p);
    os << '\n';
  }
  auto row = [&](const std::string& label, double p, double r, double f, int64_t n) {
    os << std::left << std::setw(name_wi) << label << std::right << std::fixed << std::setprecision(4) << ' '
       << std::setw(9) << p << ' ' << std::setw(9) << r << ' ' << std::setw(9) << f << ' ' << std::setw(9) << n
       << '\n';
  };
  os << '\n' << std::left << std::setw(name_wi) << "class" << std::right << ' ' << std::setw(9) << "precision"
     << ' ' << std::setw(9) << "recall" << ' ' << std::setw(9) << "f1" << ' ' << std::setw(9) << "support" << '\n';
  for (int64_t k = 0; k < c_; ++k) row(names_[size_t(k)], precision(k), recall(k), f1(k), support(k));
  row("macro avg", macro_precision(), macro_recall(), macro_f1(), total());
  os << std::left << std::setw(name_wi) << "accuracy" << std::right << ' ' << std::setw(9) << "" << ' '
     << std::setw(9) << "" << ' ' << std::setw(9) << accuracy() << ' ' << std::setw(9) << total() << '\n';
  return os.str();
}

std::ostream& operator<<(std::ostream& os, const ConfusionMatrix& cm) { return os << cm.str(); }

}  // namespace kiln::metrics
