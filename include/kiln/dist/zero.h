// dist::ZeroRedundancyOptimizer: ZeRO stage 1 (llm.c's -z 1, PyTorch's
// ZeroRedundancyOptimizer). Each rank keeps optimizer state for 1/world_size
// of the parameters only:
//   backward   each bucket's gradients are reduce-scattered (averaged) instead
//              of all-reduced: rank r receives the averaged gradient of its
//              shard of every bucket
//   step()     the wrapped optimizer updates this rank's shards (plain kiln
//              SGD/Adam/AdamW/... over 1-D shard views of the flat parameter
//              and gradient buffers, so its fused update runs unchanged)
//   then       each bucket's parameter shards are all-gathered, and every rank
//              holds the whole updated model again
// The update is elementwise, so the result equals DistributedDataParallel
// with the same optimizer.
//
//   dist::DistributedDataParallel ddp(model);
//   dist::ZeroRedundancyOptimizer opt(ddp, [&](std::vector<optim::OptimizerParamGroup> shards) {
//     return std::make_unique<optim::AdamW>(std::move(shards), optim::AdamWOptions(3e-4));
//   });
//   optim::CosineAnnealingLR schedule(opt, ...);   // schedules see the model's groups
//
// Parameter groups (e.g. no weight decay for biases) are given over the
// model's parameters; buckets are re-laid out so that no bucket spans two
// groups. Under ZeRO-1 only this rank's shard of each gradient is averaged:
// p.grad() elsewhere holds this rank's local (or stale) values, so clip with
// clip_grad_norm() below, not optim::clip_grad_norm_.
//
// state_dict() is the per-parameter form a plain optimizer of the same kind
// saves (gathered from the shards), and load_state_dict() accepts that form,
// so a checkpoint saved with ZeRO-1 resumes with or without it and vice
// versa. Both are collective: every rank must call them.
#pragma once
#include <functional>
#include <memory>
#include <vector>

#include "kiln/dist/ddp.h"
#include "kiln/optim/optimizer.h"

namespace kiln::dist {

class ZeroRedundancyOptimizer : public optim::Optimizer {
 public:
  // Builds the optimizer that updates this rank's shards. It receives one
  // group per group here, in the same order, holding shard tensors and the
  // group's options (or none: then its own defaults apply).
  using Factory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<optim::OptimizerParamGroup>)>;

  // One group of every parameter `ddp` trains.
  ZeroRedundancyOptimizer(DistributedDataParallel& ddp, const Factory& make_optimizer);
  // Groups over the model's parameters; every trained parameter in exactly one.
  ZeroRedundancyOptimizer(DistributedDataParallel& ddp, std::vector<optim::OptimizerParamGroup> groups,
                          const Factory& make_optimizer);
  ~ZeroRedundancyOptimizer() override;

  // The shard update, then the parameter all-gather. Throws ValueError when
  // no synchronising backward ran since the last step.
  void step() override;
  // The global gradient 2-norm over every shard (one small all-reduce), and
  // the shards scaled by max_norm / (norm + 1e-6) when it exceeds max_norm,
  // as optim::clip_grad_norm_ does for whole gradients. Returns the norm.
  double clip_grad_norm(double max_norm);

  optim::OptimizerState state_dict() const override;
  void load_state_dict(const optim::OptimizerState& state) override;

  // The optimizer over this rank's shards.
  optim::Optimizer& shard_optimizer() const { return *inner_; }
  // Bytes of optimizer state this rank holds.
  size_t state_bytes() const;

 private:
  struct Shard;
  struct Built;
  ZeroRedundancyOptimizer(DistributedDataParallel& ddp, Built&& built);
  static DistributedDataParallel::Impl& impl_of(const DistributedDataParallel& ddp) { return *ddp.impl_; }
  void copy_options_to_shards();
  DistributedDataParallel& ddp_;
  std::unique_ptr<optim::Optimizer> inner_;
  std::vector<Shard> shards_;  // one per bucket
  int64_t last_stepped_sync_ = -1;
};

}  // namespace kiln::dist
