// CudaBackend::sgd_update / adam_update / rmsprop_update / adagrad_update: fused multi-tensor kernels
// (kernels/optim.cu) that update every parameter of a step in a few launches.
// Parameters are grouped by dtype (one launch family per dtype); each group
// keeps the caller's order. Strided tensors are updated through contiguous
// copies.
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "kernels.h"

namespace kiln::cuda {
namespace {

// A state tensor must match its parameter: same device, dtype and shape.
void check_like(const char* op, const Tensor& param, const Tensor& t, const char* name, size_t i) {
  KILN_CHECK(t.defined(), ValueError, op, ": ", name, "[", i, "] is undefined");
  KILN_CHECK(t.device() == param.device() && t.dtype() == param.dtype() && t.sizes() == param.sizes(), ValueError, op,
             ": ", name, "[", i, "] ", detail::describe(t), " must match its parameter ", detail::describe(param));
}

// The kernels need dense memory: a strided tensor is updated through a
// contiguous copy that is written back after the step.
class DenseViews {
 public:
  explicit DenseViews(CudaBackend& backend) : backend_(backend) {}
  void* read(const Tensor& t) { return dense(t, false); }
  void* update(const Tensor& t) { return dense(t, true); }
  void write_back() {
    for (auto& [tmp, target] : pending_) backend_.copy(tmp, target);
  }

 private:
  void* dense(const Tensor& t, bool write) {
    if (t.is_contiguous()) return t.raw_data_ptr();
    Tensor tmp = detail::make_empty(t.sizes(), t.dtype(), t.device());
    backend_.copy(t, tmp);
    keep_.push_back(tmp);
    if (write) pending_.push_back({tmp, t});
    return tmp.raw_data_ptr();
  }
  CudaBackend& backend_;
  std::vector<Tensor> keep_;
  std::vector<std::pair<Tensor, Tensor>> pending_;
};

void check_lists(const char* op, const std::vector<Tensor>& params, std::initializer_list<const std::vector<Tensor>*> lists) {
  for (const auto* l : lists)
    KILN_CHECK(l->size() == params.size(), ValueError, op, ": got ", params.size(), " parameters but a list of ",
               l->size(), " state tensors");
  for (size_t i = 0; i < params.size(); ++i) {
    KILN_CHECK(params[i].defined() && is_floating(params[i].dtype()), DTypeError, op, ": parameter ", i, " ",
               params[i].defined() ? detail::describe(params[i]) : std::string("(undefined)"), " must be floating");
    KILN_CHECK(params[i].device() == params[0].device(), DeviceError, op, ": parameters are on ",
               params[0].device(), " and ", params[i].device(), "; one call updates one device");
  }
}

}  // namespace

void CudaBackend::sgd_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                             const std::vector<Tensor>& momentum_buffers, const detail::SgdHyper& h) {
  const char* op = "sgd_update";
  if (params.empty()) return;
  const bool has_momentum = h.momentum != 0;
  if (has_momentum) check_lists(op, params, {&grads, &momentum_buffers});
  else check_lists(op, params, {&grads});
  const int dev = params[0].device().index();
  DeviceGuard guard(dev);
  DenseViews dense(*this);
  std::map<DType, std::vector<kernels::SgdTensor>> groups;
  for (size_t i = 0; i < params.size(); ++i) {
    check_like(op, params[i], grads[i], "grads", i);
    if (has_momentum) check_like(op, params[i], momentum_buffers[i], "momentum_buffers", i);
    kernels::SgdTensor t;
    t.param = dense.update(params[i]);
    t.grad = dense.read(grads[i]);
    t.momentum_buffer = has_momentum ? dense.update(momentum_buffers[i]) : nullptr;
    t.numel = params[i].numel();
    groups[params[i].dtype()].push_back(t);
  }
  for (const auto& [dtype, tensors] : groups) kernels::launch_sgd_update(tensors, dtype, h, current_stream(dev));
  dense.write_back();
}

void CudaBackend::adam_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                              const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                              const std::vector<Tensor>& max_exp_avg_sqs, const detail::AdamHyper& h) {
  const char* op = "adam_update";
  if (params.empty()) return;
  if (h.amsgrad) check_lists(op, params, {&grads, &exp_avgs, &exp_avg_sqs, &max_exp_avg_sqs});
  else check_lists(op, params, {&grads, &exp_avgs, &exp_avg_sqs});
  const int dev = params[0].device().index();
  DeviceGuard guard(dev);
  DenseViews dense(*this);
  std::map<DType, std::vector<kernels::AdamTensor>> groups;
  for (size_t i = 0; i < params.size(); ++i) {
    check_like(op, params[i], grads[i], "grads", i);
    check_like(op, params[i], exp_avgs[i], "exp_avgs", i);
    check_like(op, params[i], exp_avg_sqs[i], "exp_avg_sqs", i);
    if (h.amsgrad) check_like(op, params[i], max_exp_avg_sqs[i], "max_exp_avg_sqs", i);
    kernels::AdamTensor t;
    t.param = dense.update(params[i]);
    t.grad = dense.read(grads[i]);
    t.exp_avg = dense.update(exp_avgs[i]);
    t.exp_avg_sq = dense.update(exp_avg_sqs[i]);
    t.max_exp_avg_sq = h.amsgrad ? dense.update(max_exp_avg_sqs[i]) : nullptr;
    t.numel = params[i].numel();
    groups[params[i].dtype()].push_back(t);
  }
  for (const auto& [dtype, tensors] : groups) kernels::launch_adam_update(tensors, dtype, h, current_stream(dev));
  dense.write_back();
}

void CudaBackend::rmsprop_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                                 const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& momentum_buffers,
                                 const std::vector<Tensor>& grad_avgs, const detail::RmspropHyper& h) {
  const char* op = "rmsprop_update";
  if (params.empty()) return;
  const bool momentum = h.momentum > 0;
  check_lists(op, params, {&grads, &square_avgs});
  if (momentum) check_lists(op, params, {&momentum_buffers});
  if (h.centered) check_lists(op, params, {&grad_avgs});
  const int dev = params[0].device().index();
  DeviceGuard guard(dev);
  DenseViews dense(*this);
  std::map<DType, std::vector<kernels::RmspropTensor>> groups;
  for (size_t i = 0; i < params.size(); ++i) {
    check_like(op, params[i], grads[i], "grads", i);
    check_like(op, params[i], square_avgs[i], "square_avgs", i);
    if (momentum) check_like(op, params[i], momentum_buffers[i], "momentum_buffers", i);
    if (h.centered) check_like(op, params[i], grad_avgs[i], "grad_avgs", i);
    kernels::RmspropTensor t;
    t.param = dense.update(params[i]);
    t.grad = dense.read(grads[i]);
    t.square_avg = dense.update(square_avgs[i]);
    t.momentum_buffer = momentum ? dense.update(momentum_buffers[i]) : nullptr;
    t.grad_avg = h.centered ? dense.update(grad_avgs[i]) : nullptr;
    t.numel = params[i].numel();
    groups[params[i].dtype()].push_back(t);
  }
  for (const auto& [dtype, tensors] : groups) kernels::launch_rmsprop_update(tensors, dtype, h, current_stream(dev));
  dense.write_back();
}

void CudaBackend::adagrad_update(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                                 const std::vector<Tensor>& sums, const detail::AdagradHyper& h) {
  const char* op = "adagrad_update";
  if (params.empty()) return;
  check_lists(op, params, {&grads, &sums});
  const int dev = params[0].device().index();
  DeviceGuard guard(dev);
  DenseViews dense(*this);
  std::map<DType, std::vector<kernels::AdagradTensor>> groups;
  for (size_t i = 0; i < params.size(); ++i) {
    check_like(op, params[i], grads[i], "grads", i);
    check_like(op, params[i], sums[i], "sums", i);
    kernels::AdagradTensor t;
    t.param = dense.update(params[i]);
    t.grad = dense.read(grads[i]);
    t.sum = dense.update(sums[i]);
    t.numel = params[i].numel();
    groups[params[i].dtype()].push_back(t);
  }
  for (const auto& [dtype, tensors] : groups) kernels::launch_adagrad_update(tensors, dtype, h, current_stream(dev));
  dense.write_back();
}

}  // namespace kiln::cuda
