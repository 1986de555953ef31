// nn::Dropout: zeroes elements with probability p in training mode.
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

// DropoutOptions(0.2) or DropoutOptions().p(0.2).inplace(true). inplace
// writes the result into the input (with copy_, as F::dropout does: a leaf
// that requires grad is refused) and returns it.
class DropoutOptions {
 public:
  DropoutOptions(double p = 0.5) : p_(p) {}  // NOLINT: implicit, as LibTorch
  DropoutOptions& p(double v) { p_ = v; return *this; }
  DropoutOptions& inplace(bool v) { inplace_ = v; return *this; }
  double p() const { return p_; }
  bool inplace() const { return inplace_; }

 private:
  double p_;
  bool inplace_ = false;
};

class DropoutImpl : public Cloneable<DropoutImpl> {
 public:
  void reset() override {}
  explicit DropoutImpl(const DropoutOptions& options = {});
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  DropoutOptions options;
};
using Dropout = ModuleHolder<DropoutImpl>;

}  // namespace kiln::nn
