#include "kiln/metrics/classification.h"

namespace kiln::metrics {
namespace detail {

std::vector<int64_t> target_classes(const char* op, const Tensor& targets) {
  KILN_CHECK(targets.defined() && targets.dim() == 1, ShapeError, op, ": targets must be 1-D class indices [N], got ",
             targets.defined() ? shape_str(targets.sizes()) : std::string("undefined"));
  KILN_CHECK(is_integral(targets.dtype()) && targets.dtype() != kBool, DTypeError, op,
             ": targets must be integer class indices, got ", dtype_name(targets.dtype()));
  return targets.to_vector<int64_t>();
}

std::vector<int64_t> predicted_classes(const char* op, const Tensor& x, int64_t n) {
  KILN_CHECK(x.defined(), ShapeError, op, ": predictions are undefined");
  KILN_CHECK(x.dim() >= 1 && x.size(0) == n, ShapeError, op, ": predictions ", shape_str(x.sizes()), " and targets [",
             n, "] differ in length");
  if (x.dim() == 1) {
    KILN_CHECK(is_integral(x.dtype()) && x.dtype() != kBool, DTypeError, op,
               ": 1-D predictions must be integer class indices, got ", dtype_name(x.dtype()),
               " (pass logits as [N, C])");
    return x.to_vector<int64_t>();
  }
  KILN_CHECK(x.dim() == 2 && x.size(1) >= 1, ShapeError, op, ": predictions must be class indices [N] or scores [N, C], got ",
             shape_str(x.sizes()));
  const int64_t c = x.size(1);
  std::vector<double> scores = x.to_vector<double>();
  std::vector<int64_t> preds(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) {
    const double* row = scores.data() + i * c;
    int64_t best = 0;
    for (int64_t j = 1; j < c; ++j)
      if (row[j] > row[best]) best = j;
    preds[static_cast<size_t>(i)] = best;
  }
  return preds;
}

}  // namespace detail

namespace {

// Hits of the top-k rule (k = 1 with [N] predictions is plain equality).
int64_t count_hits(const char* op, const Tensor& x, const std::vector<int64_t>& targets, int64_t k) {
  const int64_t n = static_cast<int64_t>(targets.size());
  if (k == 1) {
    std::vector<int64_t> preds = detail::predicted_classes(op, x, n);
    int64_t hits = 0;
    for (int64_t i = 0; i < n; ++i) hits += preds[size_t(i)] == targets[size_t(i)];
    return hits;
  }
  KILN_CHECK(x.dim() == 2 && x.size(0) == n, ShapeError, op, ": top-", k, " needs scores [N, C] with N = ", n,
             ", got ", shape_str(x.sizes()));
  const int64_t c = x.size(1);
  std::vector<double> scores = x.to_vector<double>();
  int64_t hits = 0;
  for (int64_t i = 0; i < n; ++i) {
    const int64_t t = targets[size_t(i)];
    KILN_CHECK(t >= 0 && t < c, ValueError, op, ": target ", t, " at row ", i, " is outside [0, ", c, ")");
    const double* row = scores.data() + i * c;
    int64_t higher = 0;
    for (int64_t j = 0; j < c; ++j) higher += row[j] > row[t];
    hits += higher < k;
  }
  return hits;
}

}  // namespace

double accuracy(const Tensor& logits_or_preds, const Tensor& targets) {
  Accuracy acc(1);
  acc.update(logits_or_preds, targets);
  return acc.compute();
}

double top_k_accuracy(const Tensor& logits, const Tensor& targets, int64_t k) {
  Accuracy acc(k);
  acc.update(logits, targets);
  return acc.compute();
}

Accuracy::Accuracy(int64_t k) : k_(k) {
  KILN_CHECK(k >= 1, ValueError, "Accuracy: k must be >= 1, got ", k);
}

void Accuracy::update(const Tensor& logits_or_preds, const Tensor& targets) {
  const char* op = k_ == 1 ? "accuracy" : "top_k_accuracy";
  std::vector<int64_t> t = detail::target_classes(op, targets);
  correct_ += count_hits(op, logits_or_preds, t, k_);
  total_ += static_cast<int64_t>(t.size());
}

double Accuracy::compute() const { return total_ > 0 ? static_cast<double>(correct_) / total_ : 0.0; }

void Mean::update(double value, double weight) {
  KILN_CHECK(weight >= 0, ValueError, "Mean: weight must be >= 0, got ", weight);
  sum_ += value * weight;
  weight_ += weight;
}

}  // namespace kiln::metrics
