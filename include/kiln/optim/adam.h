// Adam and AdamW, following torch.optim.Adam / AdamW:
//   Adam:  g = grad + weight_decay * p          AdamW: p *= 1 - lr * weight_decay
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g * g
//   vmax = max(vmax, v) (amsgrad) or v
//   p -= lr / (1 - beta1^t) * m / (sqrt(vmax) / sqrt(1 - beta2^t) + eps)
// with t the parameter's step count (1 on the first update).
#pragma once
#include <tuple>

#include "kiln/optim/optimizer.h"

namespace kiln::optim {

// The options Adam and AdamW share; Derived makes the setters chain with the right type.
template <class Derived>
class AdamOptionsBase : public OptimizerOptions {
 public:
  explicit AdamOptionsBase(double lr, double weight_decay) : lr_(lr), weight_decay_(weight_decay) {}
  Derived& lr(double v) { lr_ = v; return self(); }
  Derived& betas(const std::tuple<double, double>& v) { betas_ = v; return self(); }
  Derived& eps(double v) { eps_ = v; return self(); }
  Derived& weight_decay(double v) { weight_decay_ = v; return self(); }
  Derived& amsgrad(bool v) { amsgrad_ = v; return self(); }
  double lr() const { return lr_; }
  const std::tuple<double, double>& betas() const { return betas_; }
  double eps() const { return eps_; }
  double weight_decay() const { return weight_decay_; }
  bool amsgrad() const { return amsgrad_; }

  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<Derived>(self()); }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::map<std::string, double> to_map() const override {
    return {{"lr", lr_},   {"beta1", std::get<0>(betas_)}, {"beta2", std::get<1>(betas_)},
            {"eps", eps_}, {"weight_decay", weight_decay_},  {"amsgrad", amsgrad_ ? 1.0 : 0.0}};
  }
  void from_map(const std::map<std::string, double>& values) override {
    for (const auto& [key, v] : values) {
      if (key == "lr") lr_ = v;
      else if (key == "beta1") std::get<0>(betas_) = v;
      else if (key == "beta2") std::get<1>(betas_) = v;
      else if (key == "eps") eps_ = v;
      else if (key == "weight_decay") weight_decay_ = v;
      else if (key == "amsgrad") amsgrad_ = v != 0;
      else throw_unknown_option("Adam", key);
    }
  }

 private:
  Derived& self() { return static_cast<Derived&>(*this); }
  const Derived& self() const { return static_cast<const Derived&>(*this); }
  double lr_;
  std::tuple<double, double> betas_{0.9, 0.999};
  double eps_ = 1e-8;
  double weight_decay_;
  bool amsgrad_ = false;
};

class AdamOptions : public AdamOptionsBase<AdamOptions> {
 public:
  AdamOptions(double lr = 1e-3) : AdamOptionsBase(lr, 0.0) {}  // NOLINT: implicit, as LibTorch
};
class AdamWOptions : public AdamOptionsBase<AdamWOptions> {
 public:
  AdamWOptions(double lr = 1e-3) : AdamOptionsBase(lr, 1e-2) {}  // NOLINT: implicit, as LibTorch
};

// The update Adam and AdamW share; `decoupled` selects AdamW's weight decay.
class AdamBase : public Optimizer {
 public:
  using Optimizer::step;
  void step() override;

 protected:
  AdamBase(std::string name, std::vector<OptimizerParamGroup> groups, std::unique_ptr<OptimizerOptions> defaults,
           bool decoupled)
      : Optimizer(std::move(name), std::move(groups), std::move(defaults)), decoupled_(decoupled) {}

 private:
  bool decoupled_;
};

class Adam : public AdamBase {
 public:
  Adam(std::vector<OptimizerParamGroup> groups, const AdamOptions& defaults = AdamOptions());
  Adam(std::vector<Tensor> params, const AdamOptions& defaults = AdamOptions());
};

// Adam with decoupled weight decay (Loshchilov & Hutter).
class AdamW : public AdamBase {
 public:
  AdamW(std::vector<OptimizerParamGroup> groups, const AdamWOptions& defaults = AdamWOptions());
  AdamW(std::vector<Tensor> params, const AdamWOptions& defaults = AdamWOptions());
};

}  // namespace kiln::optim
