// nn::Linear: y = x @ weight^T + bias.
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

// LinearOptions(784, 10).bias(false); each field has a chainable setter and a getter.
class LinearOptions {
 public:
  LinearOptions(int64_t in_features, int64_t out_features) : in_features_(in_features), out_features_(out_features) {}
  LinearOptions& in_features(int64_t v) { in_features_ = v; return *this; }
  LinearOptions& out_features(int64_t v) { out_features_ = v; return *this; }
  LinearOptions& bias(bool v) { bias_ = v; return *this; }
  int64_t in_features() const { return in_features_; }
  int64_t out_features() const { return out_features_; }
  bool bias() const { return bias_; }

 private:
  int64_t in_features_, out_features_;
  bool bias_ = true;
};

class LinearImpl : public Cloneable<LinearImpl> {
 public:
  explicit LinearImpl(const LinearOptions& options);
  LinearImpl(int64_t in_features, int64_t out_features, bool bias = true);
  Tensor forward(const Tensor& x);
  void reset() override;
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  LinearOptions options;
  Tensor weight;  // [out, in]
  Tensor bias;    // [out] or undefined
};
using Linear = ModuleHolder<LinearImpl>;

}  // namespace kiln::nn
