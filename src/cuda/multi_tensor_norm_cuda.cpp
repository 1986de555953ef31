// CudaBackend::multi_tensor_norm: two launches of kernels/multi_tensor_norm.cu
// for any number of tensors; the per-chunk scratch comes from the caching
// allocator on the current stream. Nothing waits for the GPU here: the
// caller reads `out` when it reads the step's loss.
#include <vector>

#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "kernels.h"

namespace kiln::cuda {

void CudaBackend::multi_tensor_norm(const std::vector<Tensor>& tensors, Tensor& out) {
  if (tensors.empty()) return;
  const int dev = out.device().index();
  DeviceGuard guard(dev);
  std::vector<kernels::NormTensor> list;
  for (const Tensor& t : tensors) list.push_back({t.raw_data_ptr(), t.numel(), t.dtype()});
  const int64_t scratch = kernels::multi_tensor_norm_partials(list);
  Tensor partials = detail::make_empty({std::max<int64_t>(scratch, 1)}, kFloat64, out.device());
  kernels::launch_multi_tensor_norm(list, static_cast<double*>(partials.raw_data_ptr()),
                                    static_cast<double*>(out.raw_data_ptr()), current_stream(dev));
}

}  // namespace kiln::cuda
