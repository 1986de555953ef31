// Elementwise activation layers (no parameters).
#pragma once
#include <string>

#include "kiln/nn/module.h"

namespace kiln::nn {

class ReLUImpl : public Module {
 public:
  ReLUImpl() : Module("ReLU") {}
  Tensor forward(const Tensor& x);
};
using ReLU = ModuleHolder<ReLUImpl>;

class GELUImpl : public Module {
 public:
  // approximate: "none" (erf) or "tanh".
  explicit GELUImpl(std::string approximate = "none");
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;
  std::string approximate;
};
using GELU = ModuleHolder<GELUImpl>;

class SiLUImpl : public Module {
 public:
  SiLUImpl() : Module("SiLU") {}
  Tensor forward(const Tensor& x);
};
using SiLU = ModuleHolder<SiLUImpl>;

class TanhImpl : public Module {
 public:
  TanhImpl() : Module("Tanh") {}
  Tensor forward(const Tensor& x);
};
using Tanh = ModuleHolder<TanhImpl>;

}  // namespace kiln::nn
