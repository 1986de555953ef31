// Classification metrics. Predictions are either logits/probabilities
// [N, C] (the class is the argmax of each row, the first one on ties, as in
// PyTorch) or class indices [N] of an integer dtype; targets are integer
// class indices [N]. Tensors may live on any device (they are read on the CPU).
#pragma once
#include <cstdint>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::metrics {

// Fraction of rows whose predicted class equals the target; 0 for N = 0.
double accuracy(const Tensor& logits_or_preds, const Tensor& targets);
// Fraction of rows whose target is among the k highest scores of logits
// [N, C]. Ties are counted in the target's favour: it is a hit when fewer than
// k classes score strictly higher.
double top_k_accuracy(const Tensor& logits, const Tensor& targets, int64_t k);

// Streaming top-k accuracy for an evaluation loop: update() per batch.
class Accuracy {
 public:
  explicit Accuracy(int64_t k = 1);
  void update(const Tensor& logits_or_preds, const Tensor& targets);
  double compute() const;  // 0 before any update
  int64_t correct() const { return correct_; }
  int64_t total() const { return total_; }
  void reset() { correct_ = total_ = 0; }

 private:
  int64_t k_;
  int64_t correct_ = 0;
  int64_t total_ = 0;
};

// Streaming weighted mean (e.g. a loss averaged over examples: update(loss, batch_size)).
class Mean {
 public:
  void update(double value, double weight = 1.0);
  double compute() const { return weight_ > 0 ? sum_ / weight_ : 0.0; }
  double weight() const { return weight_; }
  void reset() { sum_ = weight_ = 0.0; }

 private:
  double sum_ = 0.0;
  double weight_ = 0.0;
};

namespace detail {
// The predicted class per row ([N, C] argmax or [N] integers), checked
// against `targets` length; throws ShapeError/DTypeError naming `op`.
std::vector<int64_t> predicted_classes(const char* op, const Tensor& logits_or_preds, int64_t n);
// Integer targets [N] as int64 values.
std::vector<int64_t> target_classes(const char* op, const Tensor& targets);
}  // namespace detail

}  // namespace kiln::metrics
