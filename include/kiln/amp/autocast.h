// Automatic mixed precision: autocast regions, as PyTorch's torch.autocast.
//
//   {
//     kiln::amp::AutocastGuard autocast(kiln::kBFloat16);
//     Tensor loss = kiln::cross_entropy(model->forward(x), y);  // matmuls in bf16, the loss in f32
//     loss.backward();
//   }
//
// Inside a region the ops themselves pick their dtype (src/ops/autocast.h):
//   low dtype  matmul, mm, bmm, linear, conv2d (and conv1d through it),
//              conv_transpose2d, scaled_dot_product_attention
//   float32    softmax, log_softmax, layer_norm, rms_norm, batch_norm,
//              group_norm, cross_entropy, nll_loss, mse_loss,
//              binary_cross_entropy_with_logits, sum, mean, norm, var, std,
//              logsumexp, cumsum
//   unchanged  every other op (it runs in its inputs' dtype)
// Outside a region nothing changes. Parameters stay f32: the low-dtype cast of
// a parameter (a leaf that requires grad) is made once and cached until the
// outermost guard of the thread exits, and recast if the parameter is written
// in place meanwhile; its gradient reaches the f32 parameter in f32. Backward
// formulas run in the dtypes their forward saved (autocast is off inside
// backward()). The state is per thread: a guard affects the ops its own
// thread runs. docs/mixed_precision.md has the table and the figures.
#pragma once
#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

namespace kiln::amp {

class AutocastGuard {
 public:
  // Autocast for CUDA tensors in `dtype` (kBFloat16 or kFloat16). CPU tensors
  // keep running f32: on the CPU kiln's bf16/f16 matmul widens to f32 and is
  // measured slower than f32 (docs/mixed_precision.md); the CPU's setting is
  // left as the enclosing guard set it. enabled = false turns autocast off
  // for both device types inside the guard.
  explicit AutocastGuard(DType dtype = kBFloat16, bool enabled = true);
  // Autocast for tensors of one device type only, in `dtype`, as
  // torch.autocast(device_type, dtype, enabled): AutocastGuard(kCPU,
  // kBFloat16) runs the CPU ops in real bf16 (to check a model's numerics
  // in low precision without a GPU, or on a CPU where bf16 pays).
  AutocastGuard(DeviceType device_type, DType dtype, bool enabled = true);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  void enter();
  bool prev_cpu_enabled_, prev_cuda_enabled_;
  DType prev_cpu_dtype_, prev_cuda_dtype_;
};

// Whether ops on tensors of `device_type` autocast on this thread, and to which dtype.
bool is_autocast_enabled(DeviceType device_type);
DType get_autocast_dtype(DeviceType device_type);
// Drops this thread's cached parameter casts now (the outermost guard's exit does it too).
void clear_autocast_cache();

}  // namespace kiln::amp
