// Options of the loss modules (nn/loss.h), which are also the options of
// the functional losses (F::CrossEntropyFuncOptions = CrossEntropyLossOptions,
// as in LibTorch).
#pragma once
#include <cstdint>

#include "kiln/core/tensor.h"
#include "kiln/nn/enums.h"

namespace kiln::nn {

// weight: a rescaling of each class [C] (undefined: all 1).
class CrossEntropyLossOptions {
 public:
  CrossEntropyLossOptions& weight(const Tensor& v) { weight_ = v; return *this; }
  CrossEntropyLossOptions& ignore_index(int64_t v) { ignore_index_ = v; return *this; }
  CrossEntropyLossOptions& reduction(Reduction v) { reduction_ = v; return *this; }
  CrossEntropyLossOptions& label_smoothing(double v) { label_smoothing_ = v; return *this; }
  const Tensor& weight() const { return weight_; }
  int64_t ignore_index() const { return ignore_index_; }
  Reduction reduction() const { return reduction_; }
  double label_smoothing() const { return label_smoothing_; }

 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
  double label_smoothing_ = 0.0;
};

class NLLLossOptions {
 public:
  NLLLossOptions& weight(const Tensor& v) { weight_ = v; return *this; }
  NLLLossOptions& ignore_index(int64_t v) { ignore_index_ = v; return *this; }
  NLLLossOptions& reduction(Reduction v) { reduction_ = v; return *this; }
  const Tensor& weight() const { return weight_; }
  int64_t ignore_index() const { return ignore_index_; }
  Reduction reduction() const { return reduction_; }

 private:
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
};

class MSELossOptions {
 public:
  MSELossOptions(Reduction reduction = Reduction::Mean) : reduction_(reduction) {}  // NOLINT: as LibTorch
  MSELossOptions& reduction(Reduction v) { reduction_ = v; return *this; }
  Reduction reduction() const { return reduction_; }

 private:
  Reduction reduction_;
};

// weight: a rescaling of each element's loss, broadcast against the input;
// pos_weight: the weight of positive examples, broadcast against the last dim.
class BCEWithLogitsLossOptions {
 public:
  BCEWithLogitsLossOptions& weight(const Tensor& v) { weight_ = v; return *this; }
  BCEWithLogitsLossOptions& reduction(Reduction v) { reduction_ = v; return *this; }
  BCEWithLogitsLossOptions& pos_weight(const Tensor& v) { pos_weight_ = v; return *this; }
  const Tensor& weight() const { return weight_; }
  Reduction reduction() const { return reduction_; }
  const Tensor& pos_weight() const { return pos_weight_; }

 private:
  Tensor weight_;
  Reduction reduction_ = Reduction::Mean;
  Tensor pos_weight_;
};

}  // namespace kiln::nn
