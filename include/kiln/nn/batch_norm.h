// nn::BatchNorm2d (input [N,C,H,W]) and nn::BatchNorm1d (input [N,C] or
// [N,C,L]): per-channel normalisation. Buffers running_mean, running_var,
// num_batches_tracked (int64) as in PyTorch, so state_dicts have the same keys.
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

// BatchNormOptions(64).eps(1e-3).momentum(0.01).affine(false). LibTorch's
// momentum is optional (none = a cumulative average); kiln's is a number.
class BatchNormOptions {
 public:
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}  // NOLINT: implicit, as LibTorch
  BatchNormOptions& num_features(int64_t v) { num_features_ = v; return *this; }
  BatchNormOptions& eps(double v) { eps_ = v; return *this; }
  BatchNormOptions& momentum(double v) { momentum_ = v; return *this; }
  BatchNormOptions& affine(bool v) { affine_ = v; return *this; }
  BatchNormOptions& track_running_stats(bool v) { track_running_stats_ = v; return *this; }
  int64_t num_features() const { return num_features_; }
  double eps() const { return eps_; }
  double momentum() const { return momentum_; }
  bool affine() const { return affine_; }
  bool track_running_stats() const { return track_running_stats_; }

 private:
  int64_t num_features_;
  double eps_ = 1e-5, momentum_ = 0.1;
  bool affine_ = true, track_running_stats_ = true;
};
using BatchNorm1dOptions = BatchNormOptions;
using BatchNorm2dOptions = BatchNormOptions;

// What BatchNorm1d and BatchNorm2d share; they differ in the input ranks
// they accept. Defined in src/nn/batch_norm.cpp for the two layers.
template <class Derived>
class BatchNormImplBase : public Cloneable<Derived> {
 public:
  Tensor forward(const Tensor& x);
  // relu(forward(x)) in one op (batch_norm_relu): what nn::Sequential runs
  // for this layer when a ReLU follows it.
  Tensor forward_relu(const Tensor& x);
  void reset() override;
  void reset_running_stats();
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  BatchNormOptions options;
  Tensor weight, bias;                                     // [C] when affine
  Tensor running_mean, running_var, num_batches_tracked;  // when tracking

 protected:
  BatchNormImplBase(const char* name, const BatchNormOptions& options);
  // Throws ShapeError unless x has a rank this layer accepts.
  virtual void check_input(const Tensor& x) const = 0;

 private:
  Tensor normalise(const Tensor& x, bool relu);
};

class BatchNorm2dImpl : public BatchNormImplBase<BatchNorm2dImpl> {
 public:
  explicit BatchNorm2dImpl(const BatchNormOptions& options) : BatchNormImplBase("BatchNorm2d", options) {}
  // momentum 0 is allowed; track_running_stats=false always uses batch statistics.
  BatchNorm2dImpl(int64_t num_features, double eps, double momentum = 0.1, bool affine = true,
                  bool track_running_stats = true);

 protected:
  void check_input(const Tensor& x) const override;
};
using BatchNorm2d = ModuleHolder<BatchNorm2dImpl>;

class BatchNorm1dImpl : public BatchNormImplBase<BatchNorm1dImpl> {
 public:
  explicit BatchNorm1dImpl(const BatchNormOptions& options) : BatchNormImplBase("BatchNorm1d", options) {}

 protected:
  void check_input(const Tensor& x) const override;
};
using BatchNorm1d = ModuleHolder<BatchNorm1dImpl>;

}  // namespace kiln::nn
