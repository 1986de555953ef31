// Launchers of the fused multi-tensor optimizer steps (kernels/optim.cu).
// Plain C++. One call updates a whole list of tensors with few launches.
// Status: compiled, not yet run on a GPU.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "kiln/core/dtype.h"

namespace kiln::kernels {

// One parameter and its state, all contiguous with `numel` elements of one
// dtype (the launch's). Unused state pointers are null.
struct SgdTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* momentum_buffer = nullptr;  // null when momentum == 0
  int64_t numel = 0;
};
struct AdamTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* exp_avg = nullptr;
  void* exp_avg_sq = nullptr;
  void* max_exp_avg_sq = nullptr;  // null unless amsgrad
  int64_t numel = 0;
};

// PyTorch's SGD: g = grad + weight_decay * p; with momentum, b = g on the
// first step, else b = momentum * b + (1 - dampening) * g, and g = g +
// momentum * b (nesterov) or g = b; then p -= lr * g.
struct SgdKernelHyper {
  double lr = 0, momentum = 0, dampening = 0, weight_decay = 0;
  bool nesterov = false, first_step = false;
};
// PyTorch's Adam/AdamW: decoupled decay p *= 1 - lr*wd, or g += wd*p;
// m = lerp(m, g, 1 - beta1); v = beta2*v + (1 - beta2)*g*g; (amsgrad: vmax =
// max(vmax, v), used for v below); p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
// with bc_i = 1 - beta_i^step.
struct AdamKernelHyper {
  double lr = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 0;
  bool decoupled_weight_decay = false, amsgrad = false;
  int64_t step = 1;
};

// Updates every tensor in place. Floating dtypes; f16/bf16 compute in f32.
void launch_sgd_update(const std::vector<SgdTensor>& tensors, DType dtype, const SgdKernelHyper& h,
                       cudaStream_t stream);
void launch_adam_update(const std::vector<AdamTensor>& tensors, DType dtype, const AdamKernelHyper& h,
                        cudaStream_t stream);

}  // namespace kiln::kernels
