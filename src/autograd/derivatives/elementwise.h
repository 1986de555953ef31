// Backward formulas of the elementwise ops (src/ops/elementwise.cpp).
// Binary nodes keep both input shapes and sum gradients back to them.
#pragma once
#include "autograd/node.h"

namespace kiln::autograd {

struct BinaryShapes {
  Shape a_sizes, b_sizes;
};

struct AddBackward : Node, BinaryShapes {
  std::string name() const override { return "AddBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

struct SubBackward : Node, BinaryShapes {
  std::string name() const override { return "SubBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

struct MulBackward : Node, BinaryShapes {
  SavedTensor a, b;
  std::string name() const override { return "MulBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { a.reset(); b.reset(); }
};

struct DivBackward : Node, BinaryShapes {
  SavedTensor a, b;
  std::string name() const override { return "DivBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { a.reset(); b.reset(); }
};

struct PowBackward : Node, BinaryShapes {
  SavedTensor base, exponent, result;
  std::string name() const override { return "PowBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { base.reset(); exponent.reset(); result.reset(); }
};

struct PowScalarBackward : Node {
  SavedTensor base;
  double exponent = 1;
  std::string name() const override { return "PowScalarBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { base.reset(); }
};

// maximum/minimum: the gradient goes to the larger (smaller) input, split in
// half on ties.
struct MaxMinBackward : Node, BinaryShapes {
  SavedTensor a, b;
  bool is_max = true;
  std::string name() const override { return is_max ? "MaximumBackward" : "MinimumBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { a.reset(); b.reset(); }
};

struct WhereBackward : Node, BinaryShapes {
  SavedTensor condition;
  std::string name() const override { return "WhereBackward"; }
  // Inputs: (a, b); the condition gets no gradient.
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { condition.reset(); }
};

// Gradient passes where min <= x <= max.
struct ClampBackward : Node {
  SavedTensor x;
  std::optional<double> min, max;
  std::string name() const override { return "ClampBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { x.reset(); }
};

struct NegBackward : Node {
  std::string name() const override { return "NegBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override;
};

// Unary ops whose derivative is one fused backend call f(grad, saved)
// (relu, sigmoid, tanh, gelu, silu) or a short formula (abs, exp, log,
// sqrt, rsqrt, sin, cos). `saved` is the input or the output, as the op documents.
struct UnaryBackward : Node {
  enum class Kind { Abs, Exp, Log, Sqrt, Rsqrt, Tanh, Sigmoid, Relu, GeluErf, GeluTanh, Silu, Sin, Cos };
  Kind kind = Kind::Exp;
  SavedTensor saved;
  std::string name() const override;
  std::vector<Tensor> apply(const Tensor& grad) override;
  void release_saved() override { saved.reset(); }
};

}  // namespace kiln::autograd
