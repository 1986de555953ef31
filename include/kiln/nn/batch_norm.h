// nn::BatchNorm2d: per-channel normalisation of [N,C,H,W] (or [N,C]) input.
// Buffers running_mean, running_var, num_batches_tracked (int64) as in
// PyTorch, so state_dicts have the same keys.
#pragma once
#include "kiln/nn/module.h"

namespace kiln::nn {

class BatchNorm2dImpl : public Module {
 public:
  // momentum 0 is allowed; track_running_stats=false always uses batch statistics.
  explicit BatchNorm2dImpl(int64_t num_features, double eps = 1e-5, double momentum = 0.1, bool affine = true,
                           bool track_running_stats = true);
  Tensor forward(const Tensor& x);
  void reset_running_stats();
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  int64_t num_features;
  double eps, momentum;
  bool affine, track_running_stats;
  Tensor weight, bias;                                     // [C] when affine
  Tensor running_mean, running_var, num_batches_tracked;  // when tracking
};
using BatchNorm2d = ModuleHolder<BatchNorm2dImpl>;

}  // namespace kiln::nn
