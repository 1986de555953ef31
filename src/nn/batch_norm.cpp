#include "kiln/nn/batch_norm.h"

#include "kiln/core/grad_mode.h"
#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

template <class Derived>
BatchNormImplBase<Derived>::BatchNormImplBase(const char* name, const BatchNormOptions& o)
    : Cloneable<Derived>(name), options(o) {
  reset();
}

template <class Derived>
void BatchNormImplBase<Derived>::reset() {
  const int64_t features = options.num_features();
  KILN_CHECK(features > 0, ValueError, this->name(), ": num_features must be positive, got ", features);
  weight = options.affine() ? this->register_parameter("weight", ones({features})) : Tensor();
  bias = options.affine() ? this->register_parameter("bias", zeros({features})) : Tensor();
  if (options.track_running_stats()) {
    running_mean = this->register_buffer("running_mean", zeros({features}));
    running_var = this->register_buffer("running_var", ones({features}));
    num_batches_tracked = this->register_buffer("num_batches_tracked", zeros({}, kInt64));
  }
}

template <class Derived>
void BatchNormImplBase<Derived>::reset_running_stats() {
  if (!options.track_running_stats()) return;
  init::zeros_(running_mean);
  init::ones_(running_var);
  NoGradGuard no_grad;
  num_batches_tracked.zero_();
}

template <class Derived>
void BatchNormImplBase<Derived>::reset_parameters() {
  reset_running_stats();
  if (options.affine()) {
    init::ones_(weight);
    init::zeros_(bias);
  }
}

template <class Derived>
Tensor BatchNormImplBase<Derived>::forward(const Tensor& x) {
  return normalise(x, false);
}

template <class Derived>
Tensor BatchNormImplBase<Derived>::forward_relu(const Tensor& x) {
  return normalise(x, true);
}

template <class Derived>
Tensor BatchNormImplBase<Derived>::normalise(const Tensor& x, bool relu) {
  check_input(x);
  KILN_CHECK(x.size(1) == options.num_features(), ShapeError, this->name(), ": input ", shape_str(x.sizes()),
             " has ", x.size(1), " channels, expected num_features = ", options.num_features());
  const bool track = options.track_running_stats();
  const bool training = this->is_training();
  if (training && track) {
    NoGradGuard no_grad;
    num_batches_tracked.add_(1);
  }
  // The op takes [N,C] or [N,C,H,W]; [N,C,L] is [N,C,L,1].
  const Tensor in = x.dim() == 3 ? x.unsqueeze(3) : x;
  auto op = relu ? batch_norm_relu : batch_norm;
  Tensor y = op(in, weight, bias, track ? running_mean : Tensor(), track ? running_var : Tensor(),
                training || !track, options.momentum(), options.eps());
  return x.dim() == 3 ? y.squeeze(3) : y;
}

template <class Derived>
void BatchNormImplBase<Derived>::pretty_print(std::ostream& os) const {
  os << this->name() << "(" << options.num_features() << ", eps=" << options.eps()
     << ", momentum=" << options.momentum() << ", affine=" << (options.affine() ? "true" : "false")
     << ", track_running_stats=" << (options.track_running_stats() ? "true" : "false") << ")";
}

template class BatchNormImplBase<BatchNorm1dImpl>;
template class BatchNormImplBase<BatchNorm2dImpl>;

BatchNorm2dImpl::BatchNorm2dImpl(int64_t features, double eps, double momentum, bool affine, bool track)
    : BatchNorm2dImpl(BatchNormOptions(features).eps(eps).momentum(momentum).affine(affine).track_running_stats(track)) {}

void BatchNorm2dImpl::check_input(const Tensor& x) const {
  KILN_CHECK(x.defined() && x.dim() == 4, ShapeError, "BatchNorm2d: expected a 4-D input [N,C,H,W], got ",
             x.defined() ? shape_str(x.sizes()) : std::string("undefined"));
}

void BatchNorm1dImpl::check_input(const Tensor& x) const {
  KILN_CHECK(x.defined() && (x.dim() == 2 || x.dim() == 3), ShapeError,
             "BatchNorm1d: expected a 2-D input [N,C] or a 3-D input [N,C,L], got ",
             x.defined() ? shape_str(x.sizes()) : std::string("undefined"));
}

}  // namespace kiln::nn
