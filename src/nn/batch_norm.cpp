#include "kiln/nn/batch_norm.h"

#include "kiln/core/grad_mode.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

BatchNorm2dImpl::BatchNorm2dImpl(int64_t features, double eps_, double momentum_, bool affine_, bool track)
    : Module("BatchNorm2d"),
      num_features(features),
      eps(eps_),
      momentum(momentum_),
      affine(affine_),
      track_running_stats(track) {
  KILN_CHECK(features > 0, ValueError, "BatchNorm2d: num_features must be positive, got ", features);
  if (affine) {
    weight = register_parameter("weight", ones({features}));
    bias = register_parameter("bias", zeros({features}));
  }
  if (track) {
    running_mean = register_buffer("running_mean", zeros({features}));
    running_var = register_buffer("running_var", ones({features}));
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

void BatchNorm2dImpl::reset_running_stats() {
  if (!track_running_stats) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  NoGradGuard no_grad;
  num_batches_tracked.zero_();
}

void BatchNorm2dImpl::reset_parameters() {
  reset_running_stats();
  if (affine) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

Tensor BatchNorm2dImpl::forward(const Tensor& x) {
  KILN_CHECK(x.defined() && x.dim() == 4, ShapeError, "BatchNorm2d: expected a 4-D input [N,C,H,W], got ",
             x.defined() ? shape_str(x.sizes()) : std::string("undefined"));
  KILN_CHECK(x.size(1) == num_features, ShapeError, "BatchNorm2d: input ", shape_str(x.sizes()), " has ", x.size(1),
             " channels, expected num_features = ", num_features);
  const bool use_batch_stats = is_training() || !track_running_stats;
  if (is_training() && track_running_stats) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  return batch_norm(x, weight, bias, track_running_stats ? running_mean : Tensor(),
                    track_running_stats ? running_var : Tensor(), use_batch_stats, momentum, eps);
}

void BatchNorm2dImpl::pretty_print(std::ostream& os) const {
  os << "BatchNorm2d(" << num_features << ", eps=" << eps << ", momentum=" << momentum
     << ", affine=" << (affine ? "true" : "false")
     << ", track_running_stats=" << (track_running_stats ? "true" : "false") << ")";
}

}  // namespace kiln::nn
