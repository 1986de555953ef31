// CudaBackend batch norm over x [N,C] or [N,C,H,W] through cuDNN
// (cudnnBatchNormalizationForwardTraining / ForwardInference / Backward, mode
// SPATIAL: statistics per channel over N, H, W; [N,C] is viewed as
// [N,C,1,1]), plus a kiln kernel for the eval-mode backward, which cuDNN
// does not offer (its backward always differentiates the batch statistics).
//
// cuDNN semantics that match the Backend contract: exponentialAverageFactor
// is the momentum (running = (1-m)*running + m*stat), the running variance is
// updated with the unbiased batch variance, and the saved statistics are the
// batch mean and 1/sqrt(biased var + eps). cuDNN wants the per-channel
// tensors in f32 for f32/f16/bf16 data (f64 for f64 data), so f16/bf16
// parameters are converted into f32 scratch tensors and the results copied
// back. An undefined weight/bias is a ones/zeros tensor.
// Status: compiled, not yet run on a GPU.
#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "cuda/cudnn_util.h"
#include "kernels.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/math.h"
#include "ops/op_util.h"

namespace kiln::cuda {
namespace {

DType param_dtype(DType x) { return x == kFloat64 ? kFloat64 : kFloat32; }

struct BnLayout {
  int64_t N, C, HW;
};
BnLayout bn_layout(const Tensor& x, const char* op) {
  KILN_CHECK((x.dim() == 2 || x.dim() == 4) && x.is_contiguous(), ShapeError, op,
             ": expected a contiguous [N,C] or [N,C,H,W] input, got ", detail::describe(x));
  return {x.size(0), x.size(1), x.dim() == 4 ? x.size(2) * x.size(3) : 1};
}

void describe_data(cudnn::TensorDesc& d, const Tensor& x, const char* op) {
  if (x.dim() == 4) {
    d.set_4d(x.dtype(), cudnn::sizes4(x, op), cudnn::strides4(x, op), op);
  } else {
    d.set_4d(x.dtype(), {x.size(0), x.size(1), 1, 1}, {x.size(1), 1, 1, 1}, op);
  }
}

}  // namespace

// The per-channel tensors cuDNN reads and writes, in its parameter dtype.
// Inputs are converted (or made from a fill value when undefined); outputs
// go to scratch when the caller's tensor has another dtype and are copied
// back by finish().
class BnParams {
 public:
  BnParams(CudaBackend& backend, DType dtype, int64_t channels, Device device)
      : backend_(backend), dtype_(dtype), channels_(channels), device_(device) {}

  Tensor input(const Tensor& t, double fill_value) {
    if (t.defined() && t.dtype() == dtype_ && t.is_contiguous()) return t;
    Tensor p = detail::make_empty({channels_}, dtype_, device_);
    if (t.defined()) backend_.copy(t, p);
    else backend_.fill(p, Scalar(fill_value));
    return p;
  }
  // Scratch (or the tensor itself) for an output; an undefined output gets
  // scratch that is dropped.
  Tensor output(Tensor& t, bool read_too = false) {
    if (t.defined() && t.dtype() == dtype_ && t.is_contiguous()) return t;
    Tensor p = detail::make_empty({channels_}, dtype_, device_);
    if (t.defined()) {
      if (read_too) backend_.copy(t, p);
      pending_.push_back({p, t});
    }
    return p;
  }
  void finish() {
    for (auto& [scratch, target] : pending_) backend_.copy(scratch, target);
    pending_.clear();
  }

 private:
  CudaBackend& backend_;
  DType dtype_;
  int64_t channels_;
  Device device_;
  std::vector<std::pair<Tensor, Tensor>> pending_;
};

void CudaBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                     Tensor& running_var, bool training, double momentum, double eps, Tensor& out,
                                     Tensor& save_mean, Tensor& save_invstd) {
  const char* op = "batch_norm";
  const BnLayout L = bn_layout(x, op);
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  const DType pdt = param_dtype(x.dtype());
  BnParams params(*this, pdt, L.C, x.device());
  if (x.numel() == 0) {  // nothing to normalise; statistics of an empty batch are undefined, so leave them
    return;
  }
  cudnnHandle_t handle = cudnn_handle(dev);
  const cudnn::Scale one(1.0, x.dtype()), zero(0.0, x.dtype());
  cudnn::TensorDesc xdesc, ydesc, pdesc;
  describe_data(xdesc, x, op);
  describe_data(ydesc, out, op);
  pdesc.set_channel(cudnn::data_type(pdt, op), L.C, op);

  Tensor w = params.input(weight, 1.0);
  Tensor b = params.input(bias, 0.0);
  if (training) {
    const bool track = running_mean.defined() && running_var.defined();
    Tensor rm = track ? params.output(running_mean, /*read_too=*/true) : Tensor();
    Tensor rv = track ? params.output(running_var, /*read_too=*/true) : Tensor();
    Tensor sm = params.output(save_mean);
    Tensor si = params.output(save_invstd);
    KILN_CUDNN_CHECK(cudnnBatchNormalizationForwardTraining(
        handle, CUDNN_BATCHNORM_SPATIAL, one.ptr(), zero.ptr(), xdesc.get(), x.raw_data_ptr(), ydesc.get(),
        out.raw_data_ptr(), pdesc.get(), w.raw_data_ptr(), b.raw_data_ptr(), momentum,
        track ? rm.raw_data_ptr() : nullptr, track ? rv.raw_data_ptr() : nullptr, eps, sm.raw_data_ptr(),
        si.raw_data_ptr()));
    params.finish();
    return;
  }
  KILN_CHECK(running_mean.defined() && running_var.defined(), ValueError, op,
             ": eval mode needs running_mean and running_var");
  Tensor rm = params.input(running_mean, 0.0);
  Tensor rv = params.input(running_var, 1.0);
  KILN_CUDNN_CHECK(cudnnBatchNormalizationForwardInference(
      handle, CUDNN_BATCHNORM_SPATIAL, one.ptr(), zero.ptr(), xdesc.get(), x.raw_data_ptr(), ydesc.get(),
      out.raw_data_ptr(), pdesc.get(), w.raw_data_ptr(), b.raw_data_ptr(), rm.raw_data_ptr(), rv.raw_data_ptr(), eps));
  // What the eval-mode backward reads: the running mean and 1/sqrt(running_var + eps).
  NoGradGuard no_grad;
  if (save_mean.defined()) copy(running_mean, save_mean);
  if (save_invstd.defined()) {
    Tensor invstd = kiln::rsqrt(rv + Scalar(eps));
    copy(invstd, save_invstd);
  }
}

void CudaBackend::batch_norm_backward(const Tensor& gy, const Tensor& x, const Tensor& weight, const Tensor& save_mean,
                                      const Tensor& save_invstd, bool training, Tensor& gx, Tensor& gw, Tensor& gb) {
  const char* op = "batch_norm_backward";
  const BnLayout L = bn_layout(x, op);
  KILN_CHECK(gy.sizes() == x.sizes() && gy.is_contiguous(), ShapeError, op, ": grad_output ", detail::describe(gy),
             " must be contiguous and shaped like the input ", detail::describe(x));
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  const DType pdt = param_dtype(x.dtype());
  BnParams params(*this, pdt, L.C, x.device());
  if (x.numel() == 0) {
    if (gw.defined()) fill(gw, Scalar(0.0));
    if (gb.defined()) fill(gb, Scalar(0.0));
    return;
  }
  Tensor mean = params.input(save_mean, 0.0);
  Tensor invstd = params.input(save_invstd, 1.0);

  if (!training) {
    Tensor w = weight.defined() ? params.input(weight, 1.0) : Tensor();
    Tensor dw = gw.defined() ? params.output(gw) : Tensor();
    Tensor db = gb.defined() ? params.output(gb) : Tensor();
    kernels::launch_batch_norm_eval_backward(
        gy.raw_data_ptr(), x.raw_data_ptr(), w.defined() ? w.raw_data_ptr() : nullptr, mean.raw_data_ptr(),
        invstd.raw_data_ptr(), gx.defined() ? gx.raw_data_ptr() : nullptr, dw.defined() ? dw.raw_data_ptr() : nullptr,
        db.defined() ? db.raw_data_ptr() : nullptr, x.dtype(), L.N, L.C, L.HW, current_stream(dev));
    params.finish();
    return;
  }

  cudnnHandle_t handle = cudnn_handle(dev);
  const cudnn::Scale one(1.0, x.dtype()), zero(0.0, x.dtype());
  cudnn::TensorDesc xdesc, dydesc, dxdesc, pdesc;
  describe_data(xdesc, x, op);
  describe_data(dydesc, gy, op);
  describe_data(dxdesc, x, op);  // gx is shaped like x; scratch when it is not wanted
  pdesc.set_channel(cudnn::data_type(pdt, op), L.C, op);
  Tensor w = params.input(weight, 1.0);
  Tensor dx = gx.defined() ? gx : detail::make_empty(x.sizes(), x.dtype(), x.device());
  Tensor dw = params.output(gw);
  Tensor db = params.output(gb);
  // eps only matters when cuDNN recomputes the statistics; it gets the saved
  // ones, so any valid value does.
  const double unused_eps = 1e-5;
  KILN_CUDNN_CHECK(cudnnBatchNormalizationBackward(
      handle, CUDNN_BATCHNORM_SPATIAL, one.ptr(), zero.ptr(), one.ptr(), zero.ptr(), xdesc.get(), x.raw_data_ptr(),
      dydesc.get(), gy.raw_data_ptr(), dxdesc.get(), dx.raw_data_ptr(), pdesc.get(), w.raw_data_ptr(),
      dw.raw_data_ptr(), db.raw_data_ptr(), unused_eps, mean.raw_data_ptr(), invstd.raw_data_ptr()));
  params.finish();
}

}  // namespace kiln::cuda
