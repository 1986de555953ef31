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
// back. Statistics (save_mean/save_invstd) are f32 (f64 for f64 data), as
// the op allocates them. cuDNN may refuse f16/bf16 data in this legacy
// API; those calls run on f32 copies instead. An undefined weight/bias is a
// ones/zeros tensor.
#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "cuda/cudnn_util.h"
#include "kernels.h"

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

namespace {

// cuDNN's legacy batch-norm API may refuse f16/bf16 data (it depends on the
// version and the device); the statistics are f32 anyway, so the data then
// goes through f32 copies and the result is rounded back once.
bool refused(cudnnStatus_t status, DType data) {
  return is_low_precision(data) && (status == CUDNN_STATUS_NOT_SUPPORTED || status == CUDNN_STATUS_BAD_PARAM);
}

}  // namespace

void CudaBackend::batch_norm_forward(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& running_mean,
                                     Tensor& running_var, bool training, double momentum, double eps, bool relu,
                                     Tensor& out, Tensor& save_mean, Tensor& save_invstd) {
  const char* op = "batch_norm";
  const BnLayout L = bn_layout(x, op);
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  const DType pdt = param_dtype(x.dtype());
  BnParams params(*this, pdt, L.C, x.device());
  if (x.numel() == 0) {  // nothing to normalise; statistics of an empty batch are undefined, so leave them
    return;
  }
  KILN_CHECK(training || (running_mean.defined() && running_var.defined()), ValueError, op,
             ": eval mode needs running_mean and running_var");
  cudnnHandle_t handle = cudnn_handle(dev);
  cudnn::TensorDesc pdesc;
  pdesc.set_channel(cudnn::data_type(pdt, op), L.C, op);
  Tensor w = params.input(weight, 1.0);
  Tensor b = params.input(bias, 0.0);
  const bool track = running_mean.defined() && running_var.defined();
  Tensor rm, rv, sm, si;
  if (training) {
    rm = track ? params.output(running_mean, /*read_too=*/true) : Tensor();
    rv = track ? params.output(running_var, /*read_too=*/true) : Tensor();
    sm = params.output(save_mean);  // already f32/f64 (the op's choice): written in place
    si = params.output(save_invstd);
  } else {
    rm = params.input(running_mean, 0.0);
    rv = params.input(running_var, 1.0);
  }
  // One cuDNN call on data xd -> yd (x and out, or their f32 copies).
  auto run = [&](const Tensor& xd, const Tensor& yd) {
    cudnn::TensorDesc xdesc, ydesc;
    describe_data(xdesc, xd, op);
    describe_data(ydesc, yd, op);
    const cudnn::Scale one(1.0, xd.dtype()), zero(0.0, xd.dtype());
    if (training)
      return cudnnBatchNormalizationForwardTraining(
          handle, CUDNN_BATCHNORM_SPATIAL, one.ptr(), zero.ptr(), xdesc.get(), xd.raw_data_ptr(), ydesc.get(),
          yd.raw_data_ptr(), pdesc.get(), w.raw_data_ptr(), b.raw_data_ptr(), momentum,
          track ? rm.raw_data_ptr() : nullptr, track ? rv.raw_data_ptr() : nullptr, eps, sm.raw_data_ptr(),
          si.raw_data_ptr());
    return cudnnBatchNormalizationForwardInference(handle, CUDNN_BATCHNORM_SPATIAL, one.ptr(), zero.ptr(),
                                                   xdesc.get(), xd.raw_data_ptr(), ydesc.get(), yd.raw_data_ptr(),
                                                   pdesc.get(), w.raw_data_ptr(), b.raw_data_ptr(),
                                                   rm.raw_data_ptr(), rv.raw_data_ptr(), eps);
  };
  cudnnStatus_t status = run(x, out);
  if (refused(status, x.dtype())) {
    Tensor xf = detail::make_empty(x.sizes(), kFloat32, x.device());
    Tensor yf = detail::make_empty(x.sizes(), kFloat32, x.device());
    copy(x, xf);
    status = run(xf, yf);
    if (status == CUDNN_STATUS_SUCCESS) copy(yf, out);
  }
  kernels::check_status(status, training ? "cudnnBatchNormalizationForwardTraining"
                                         : "cudnnBatchNormalizationForwardInference",
                        __FILE__, __LINE__);
  params.finish();
  // batch_norm_relu is not fused on the GPU: the elementwise relu, in place.
  if (relu) unary(detail::UnaryOp::Relu, out, out, {});
}

void CudaBackend::batch_norm_backward(const Tensor& gy_in, const Tensor& x, const Tensor& weight,
                                      const Tensor& /*bias: the mask is read from relu_out*/, const Tensor& save_mean,
                                      const Tensor& save_invstd, bool training, double eps, const Tensor& relu_out,
                                      Tensor& gx, Tensor& gw, Tensor& gb) {
  const char* op = "batch_norm_backward";
  Tensor gy = gy_in;
  if (relu_out.defined()) {  // not fused on the GPU: relu's backward first
    gy = detail::make_empty(gy_in.sizes(), gy_in.dtype(), gy_in.device());
    binary(detail::BinaryOp::ReluBackward, gy_in, relu_out, gy);
  }
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
    kernels::launch_batch_norm_eval_bwd(
        gy.raw_data_ptr(), x.raw_data_ptr(), w.defined() ? w.raw_data_ptr() : nullptr, mean.raw_data_ptr(),
        invstd.raw_data_ptr(), gx.defined() ? gx.raw_data_ptr() : nullptr, dw.defined() ? dw.raw_data_ptr() : nullptr,
        db.defined() ? db.raw_data_ptr() : nullptr, x.dtype(), L.N, L.C, L.HW, current_stream(dev));
    params.finish();
    return;
  }

  cudnnHandle_t handle = cudnn_handle(dev);
  cudnn::TensorDesc pdesc;
  pdesc.set_channel(cudnn::data_type(pdt, op), L.C, op);
  Tensor w = params.input(weight, 1.0);
  Tensor dx = gx.defined() ? gx : detail::make_empty(x.sizes(), x.dtype(), x.device());  // scratch when unwanted
  Tensor dw = params.output(gw);
  Tensor db = params.output(gb);
  auto run = [&](const Tensor& xd, const Tensor& gyd, const Tensor& dxd) {
    cudnn::TensorDesc xdesc, dydesc, dxdesc;
    describe_data(xdesc, xd, op);
    describe_data(dydesc, gyd, op);
    describe_data(dxdesc, dxd, op);
    const cudnn::Scale one(1.0, xd.dtype()), zero(0.0, xd.dtype());
    // The saved statistics are passed, so cuDNN does not recompute them;
    // eps is still the forward's, as its API asks.
    return cudnnBatchNormalizationBackward(handle, CUDNN_BATCHNORM_SPATIAL, one.ptr(), zero.ptr(), one.ptr(),
                                           zero.ptr(), xdesc.get(), xd.raw_data_ptr(), dydesc.get(),
                                           gyd.raw_data_ptr(), dxdesc.get(), dxd.raw_data_ptr(), pdesc.get(),
                                           w.raw_data_ptr(), dw.raw_data_ptr(), db.raw_data_ptr(), eps,
                                           mean.raw_data_ptr(), invstd.raw_data_ptr());
  };
  cudnnStatus_t status = run(x, gy, dx);
  if (refused(status, x.dtype())) {
    Tensor xf = detail::make_empty(x.sizes(), kFloat32, x.device());
    Tensor gyf = detail::make_empty(x.sizes(), kFloat32, x.device());
    Tensor dxf = detail::make_empty(x.sizes(), kFloat32, x.device());
    copy(x, xf);
    copy(gy, gyf);
    status = run(xf, gyf, dxf);
    if (status == CUDNN_STATUS_SUCCESS) copy(dxf, dx);
  }
  kernels::check_status(status, "cudnnBatchNormalizationBackward", __FILE__, __LINE__);
  params.finish();
}

}  // namespace kiln::cuda
