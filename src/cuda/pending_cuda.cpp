// TEMPORARY (this commit only): the CUDA entries of the transformer
// primitives whose kernels come in the next commits. Each throws a clear
// DeviceError instead of computing.
#include "cuda/cuda_backend.h"

namespace kiln::cuda {

namespace {
[[noreturn]] void pending(const char* op) {
  throw DeviceError(detail::str_cat(op, ": the CUDA kernel is not in this build yet; run it on the CPU"));
}
}  // namespace

void CudaBackend::cumsum(const Tensor&, const detail::RowGeometry&, bool, Tensor&) { pending("cumsum"); }
void CudaBackend::sort(const Tensor&, bool, Tensor&, Tensor&) { pending("sort"); }
void CudaBackend::topk(const Tensor&, int64_t, bool, Tensor&, Tensor&) { pending("topk"); }
void CudaBackend::multinomial(const Tensor&, int64_t, bool, const GeneratorState&, Tensor&, Tensor&) {
  pending("multinomial");
}
void CudaBackend::layer_norm_forward(const Tensor&, const Tensor&, const Tensor&, double, bool, Tensor&, Tensor&,
                                     Tensor&) {
  pending("layer_norm");
}
void CudaBackend::layer_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                                      Tensor&, Tensor&, Tensor&) {
  pending("layer_norm");
}
void CudaBackend::embedding_forward(const Tensor&, const Tensor&, Tensor&, Tensor&) { pending("embedding"); }
void CudaBackend::embedding_backward(const Tensor&, const Tensor&, int64_t, Tensor&) { pending("embedding"); }
void CudaBackend::attention_forward(const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                    const detail::AttentionParams&, Tensor&, Tensor&) {
  pending("scaled_dot_product_attention");
}
void CudaBackend::attention_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&,
                                     const Tensor&, const Tensor&, const detail::AttentionParams&, Tensor&, Tensor&,
                                     Tensor&) {
  pending("scaled_dot_product_attention");
}

}  // namespace kiln::cuda
