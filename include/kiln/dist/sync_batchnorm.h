// dist::SyncBatchNorm2d: BatchNorm2d whose training-mode statistics are taken
// over the whole global batch (every rank's examples), as torch.nn.
// SyncBatchNorm does. Plain BatchNorm2d under data parallelism normalises
// each rank's share by that share's own mean and variance, which is a
// different function of the data than one process normalising the whole
// batch; with SyncBatchNorm2d, N ranks on batch B compute what one process
// computes on batch N * B (up to rounding), forward and backward.
//
// Same parameters and buffers (weight, bias, running_mean, running_var,
// num_batches_tracked) as BatchNorm2d, so state_dicts and checkpoints are
// interchangeable. In eval mode it is BatchNorm2d (running statistics, no
// communication). Per call in training: two all-reduces of C values in
// forward (sum, then squared deviations) and two in backward. Every rank must
// run the same layers in the same order.
#pragma once
#include <memory>

#include "kiln/dist/communicator.h"
#include "kiln/nn/module.h"

namespace kiln::dist {

class SyncBatchNorm2dImpl : public nn::Module {
 public:
  // `comm` defaults to dist::communicator() at the first training forward.
  explicit SyncBatchNorm2dImpl(int64_t num_features, double eps = 1e-5, double momentum = 0.1,
                               std::shared_ptr<Communicator> comm = nullptr);
  Tensor forward(const Tensor& x);
  void pretty_print(std::ostream& os) const override;

  int64_t num_features;
  double eps, momentum;
  Tensor weight, bias;
  Tensor running_mean, running_var, num_batches_tracked;

 private:
  std::shared_ptr<Communicator> comm_;
};
using SyncBatchNorm2d = nn::ModuleHolder<SyncBatchNorm2dImpl>;

// Sum over ranks of x (a new tensor), differentiable: its backward is the sum
// over ranks of the incoming gradients. Collective, blocking.
Tensor all_reduce_sum_differentiable(const Tensor& x, Communicator& comm);

}  // namespace kiln::dist
