// Elementwise activation layers (no parameters).
#pragma once
#include <string>
#include <utility>

#include "kiln/nn/module.h"

namespace kiln::nn {

class ReLUImpl : public Cloneable<ReLUImpl> {
 public:
  void reset() override {}
  ReLUImpl() : Cloneable("ReLU") {}
  Tensor forward(const Tensor& x);
};
using ReLU = ModuleHolder<ReLUImpl>;

// GELUOptions().approximate("tanh"): "none" (erf, the default) or "tanh".
class GELUOptions {
 public:
  GELUOptions& approximate(std::string v) { approximate_ = std::move(v); return *this; }
  const std::string& approximate() const { return approximate_; }

 private:
  std::string approximate_ = "none";
};

class GELUImpl : public Cloneable<GELUImpl> {
 public:
  void reset() override {}
  explicit GELUImpl(const GELUOptions& options = {});
  explicit GELUImpl(std::string approximate) : GELUImpl(GELUOptions().approximate(std::move(approximate))) {}
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;
  GELUOptions options;
};
using GELU = ModuleHolder<GELUImpl>;

class SiLUImpl : public Cloneable<SiLUImpl> {
 public:
  void reset() override {}
  SiLUImpl() : Cloneable("SiLU") {}
  Tensor forward(const Tensor& x);
};
using SiLU = ModuleHolder<SiLUImpl>;

class TanhImpl : public Cloneable<TanhImpl> {
 public:
  void reset() override {}
  TanhImpl() : Cloneable("Tanh") {}
  Tensor forward(const Tensor& x);
};
using Tanh = ModuleHolder<TanhImpl>;

}  // namespace kiln::nn
