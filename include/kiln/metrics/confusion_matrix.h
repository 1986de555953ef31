// A streaming confusion matrix and the per-class scores derived from it.
// Rows are true classes, columns predicted classes (the torchmetrics and
// scikit-learn layout).
#pragma once
#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::metrics {

class ConfusionMatrix {
 public:
  explicit ConfusionMatrix(int64_t num_classes, std::vector<std::string> class_names = {});

  // Predictions as in classification.h: scores [N, C] or class indices [N].
  // A class outside [0, num_classes) throws ValueError.
  void update(const Tensor& logits_or_preds, const Tensor& targets);
  void update(const std::vector<int64_t>& preds, const std::vector<int64_t>& targets);
  void reset();

  int64_t num_classes() const { return c_; }
  // int64 [C, C]: matrix()[t][p] counts examples of class t predicted as p.
  Tensor matrix() const;
  int64_t count(int64_t target, int64_t predicted) const { return counts_[size_t(target * c_ + predicted)]; }
  int64_t total() const;
  int64_t support(int64_t cls) const;  // examples whose true class is cls

  // Per class; a score whose denominator is zero is 0 (scikit-learn's
  // zero_division=0).
  double precision(int64_t cls) const;  // tp / (tp + fp)
  double recall(int64_t cls) const;     // tp / (tp + fn)
  double f1(int64_t cls) const;         // 2 p r / (p + r)
  // Unweighted means over the classes that occur at all (as target or as
  // prediction), which is what torchmetrics' macro average does.
  double macro_precision() const;
  double macro_recall() const;
  double macro_f1() const;
  double accuracy() const;  // trace / total

  // The matrix, then a precision/recall/F1/support table with the macro
  // averages and accuracy, rows labelled with the class names.
  std::string str() const;
  const std::vector<std::string>& class_names() const { return names_; }

 private:
  int64_t tp(int64_t cls) const { return count(cls, cls); }
  int64_t predicted(int64_t cls) const;
  bool occurs(int64_t cls) const { return support(cls) > 0 || predicted(cls) > 0; }
  template <class Score> double macro(Score score) const;

  int64_t c_;
  std::vector<std::string> names_;
  std::vector<int64_t> counts_;
};

std::ostream& operator<<(std::ostream& os, const ConfusionMatrix& cm);

}  // namespace kiln::metrics
