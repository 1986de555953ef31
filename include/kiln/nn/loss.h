// Loss modules: CrossEntropyLoss, NLLLoss, MSELoss, BCEWithLogitsLoss, each
// the functional loss (nn/functional.h) with its options held. A class or
// element weight is registered as a buffer ("weight", "pos_weight"), so it
// moves with to(device) and is saved in state_dict(), as in PyTorch.
#pragma once
#include "kiln/nn/loss_options.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

class CrossEntropyLossImpl : public Cloneable<CrossEntropyLossImpl> {
 public:
  void reset() override;
  explicit CrossEntropyLossImpl(const CrossEntropyLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  void pretty_print(std::ostream& os) const override;
  CrossEntropyLossOptions options;
  Tensor weight;
};
using CrossEntropyLoss = ModuleHolder<CrossEntropyLossImpl>;

class NLLLossImpl : public Cloneable<NLLLossImpl> {
 public:
  void reset() override;
  explicit NLLLossImpl(const NLLLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  void pretty_print(std::ostream& os) const override;
  NLLLossOptions options;
  Tensor weight;
};
using NLLLoss = ModuleHolder<NLLLossImpl>;

class MSELossImpl : public Cloneable<MSELossImpl> {
 public:
  void reset() override;
  explicit MSELossImpl(const MSELossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  void pretty_print(std::ostream& os) const override;
  MSELossOptions options;
};
using MSELoss = ModuleHolder<MSELossImpl>;

class BCEWithLogitsLossImpl : public Cloneable<BCEWithLogitsLossImpl> {
 public:
  void reset() override;
  explicit BCEWithLogitsLossImpl(const BCEWithLogitsLossOptions& options = {});
  Tensor forward(const Tensor& input, const Tensor& target);
  void pretty_print(std::ostream& os) const override;
  BCEWithLogitsLossOptions options;
  Tensor weight, pos_weight;
};
using BCEWithLogitsLoss = ModuleHolder<BCEWithLogitsLossImpl>;

}  // namespace kiln::nn
