// SyncBatchNorm2d from ordinary ops and one differentiable all-reduce.
//
//   n     = sum over ranks of N * H * W
//   mean  = allreduce(sum_{N,H,W} x) / n
//   var   = allreduce(sum_{N,H,W} (x - mean)^2) / n          (biased, as BatchNorm)
//   y     = (x - mean) / sqrt(var + eps) * weight + bias
// Autograd differentiates through the two all-reduces (each one's backward
// is an all-reduce of the gradients), which gives the gradient of the loss
// summed over ranks; DistributedDataParallel then averages it, as it does
// for every parameter. The running variance uses n / (n - 1), as BatchNorm does.
#include "kiln/dist/sync_batchnorm.h"

#include <ostream>

#include "autograd/node.h"
#include "kiln/core/grad_mode.h"
#include "kiln/dist/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "kiln/ops/reduce.h"

namespace kiln::dist {

namespace {

struct AllReduceSumBackward : autograd::Node {
  Communicator* comm = nullptr;
  std::shared_ptr<Communicator> keep;
  std::string name() const override { return "AllReduceSumBackward"; }
  std::vector<Tensor> apply(const Tensor& grad) override {
    Tensor g = grad.contiguous().clone();
    comm->all_reduce(g, ReduceOp::Sum);
    return {g};
  }
};

}  // namespace

Tensor all_reduce_sum_differentiable(const Tensor& x, Communicator& comm) {
  Tensor out;
  {
    NoGradGuard no_grad;
    out = x.contiguous().clone();
    comm.all_reduce(out, ReduceOp::Sum);
  }
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<AllReduceSumBackward>();
    node->comm = &comm;
    autograd::set_history(out, node, {&x});
  }
  return out;
}

SyncBatchNorm2dImpl::SyncBatchNorm2dImpl(int64_t features, double eps_, double momentum_,
                                         std::shared_ptr<Communicator> comm)
    : Module("SyncBatchNorm2d"), num_features(features), eps(eps_), momentum(momentum_), comm_(std::move(comm)) {
  KILN_CHECK(features > 0, ValueError, "SyncBatchNorm2d: num_features must be positive, got ", features);
  weight = register_parameter("weight", ones({features}));
  bias = register_parameter("bias", zeros({features}));
  running_mean = register_buffer("running_mean", zeros({features}));
  running_var = register_buffer("running_var", ones({features}));
  num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
}

Tensor SyncBatchNorm2dImpl::forward(const Tensor& x) {
  KILN_CHECK(x.defined() && x.dim() == 4, ShapeError, "SyncBatchNorm2d: expected a 4-D input [N,C,H,W], got ",
             x.defined() ? shape_str(x.sizes()) : std::string("undefined"));
  KILN_CHECK(x.size(1) == num_features, ShapeError, "SyncBatchNorm2d: input ", shape_str(x.sizes()), " has ",
             x.size(1), " channels, expected num_features = ", num_features);
  if (!is_training()) return batch_norm(x, weight, bias, running_mean, running_var, false, momentum, eps);
  if (!comm_) comm_ = dist::communicator();
  Communicator& comm = *comm_;

  const Shape reduce = {0, 2, 3};
  const Shape per_channel = {1, num_features, 1, 1};
  // Statistics in f32 at least (as the batch-norm kernels do for f16/bf16).
  const DType stat_dtype = is_low_precision(x.dtype()) ? kFloat32 : x.dtype();
  const Tensor xs = x.to(stat_dtype);
  // One all-reduce carries the per-channel sums and the element count, so
  // ranks may hold batches of different sizes; n stays on the device (no sync).
  const Tensor local_count = full({1}, static_cast<double>(x.size(0) * x.size(2) * x.size(3)),
                                  TensorOptions().dtype(stat_dtype).device(x.device()));
  const Tensor sums = all_reduce_sum_differentiable(cat({xs.sum(reduce), local_count}, 0), comm);
  const Tensor n = sums.narrow(0, num_features, 1).detach();
  const Tensor mean = sums.narrow(0, 0, num_features) / n;
  const Tensor centered = xs - mean.view(per_channel);
  const Tensor var = all_reduce_sum_differentiable((centered * centered).sum(reduce), comm) / n;
  const Tensor inv_std = (var + eps).rsqrt();
  Tensor y = centered * (inv_std * weight.to(stat_dtype)).view(per_channel) + bias.to(stat_dtype).view(per_channel);
  {
    NoGradGuard no_grad;
    running_mean.mul_(1 - momentum).add_(mean.detach().to(running_mean.dtype()) * momentum);
    running_var.mul_(1 - momentum).add_((var.detach() * (n / (n - 1)) * momentum).to(running_var.dtype()));
    num_batches_tracked.add_(1);
  }
  return y.to(x.dtype());
}

void SyncBatchNorm2dImpl::pretty_print(std::ostream& os) const {
  os << "SyncBatchNorm2d(" << num_features << ", eps=" << eps << ", momentum=" << momentum << ")";
}

}  // namespace kiln::dist
