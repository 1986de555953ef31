// Launchers of the fused multi-tensor optimizer steps (kernels/optim.cu).
// Plain C++. One call updates a whole list of tensors with few launches.
#pragma once
#include <cuda_runtime.h>

#include <cstdint>
#include <vector>

#include "functors/optim.h"
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

struct RmspropTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* square_avg = nullptr;
  void* momentum_buffer = nullptr;  // null unless momentum > 0
  void* grad_avg = nullptr;         // null unless centered
  int64_t numel = 0;
};
struct AdagradTensor {
  void* param = nullptr;
  const void* grad = nullptr;
  void* sum = nullptr;
  int64_t numel = 0;
};

// The hyper-parameters (and the update formulas) are kernels/functors/optim.h's,
// shared with the CPU backend.
using functors::AdagradHyper;
using functors::AdamHyper;
using functors::RmspropHyper;
using functors::SgdHyper;

// Updates every tensor in place. Floating dtypes; f16/bf16 compute in f32.
void launch_sgd_update(const std::vector<SgdTensor>& tensors, DType dtype, const SgdHyper& h,
                       cudaStream_t stream);
void launch_adam_update(const std::vector<AdamTensor>& tensors, DType dtype, const AdamHyper& h,
                        cudaStream_t stream);
void launch_rmsprop_update(const std::vector<RmspropTensor>& tensors, DType dtype, const RmspropHyper& h,
                           cudaStream_t stream);
void launch_adagrad_update(const std::vector<AdagradTensor>& tensors, DType dtype, const AdagradHyper& h,
                           cudaStream_t stream);

}  // namespace kiln::kernels
