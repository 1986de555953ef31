// TEMPORARY (removed before landing): throws for CPU primitives whose real
// implementations are being written (conv/pool/batch-norm, optimizer steps).
// Each implementer deletes the matching function here.
#include "cpu/cpu_backend.h"

namespace kiln::cpu {
#define KILN_PENDING(name) throw InternalError(#name ": CPU implementation pending")
void CpuBackend::conv2d_forward(const Tensor&, const Tensor&, const Tensor&, const detail::Conv2dParams&, Tensor&) { KILN_PENDING(conv2d_forward); }
void CpuBackend::conv2d_backward(const Tensor&, const Tensor&, const Tensor&, const detail::Conv2dParams&, Tensor&, Tensor&, Tensor&) { KILN_PENDING(conv2d_backward); }
void CpuBackend::max_pool2d_forward(const Tensor&, const detail::Pool2dParams&, Tensor&, Tensor&) { KILN_PENDING(max_pool2d_forward); }
void CpuBackend::max_pool2d_backward(const Tensor&, const Tensor&, Tensor&) { KILN_PENDING(max_pool2d_backward); }
void CpuBackend::avg_pool2d_forward(const Tensor&, const detail::Pool2dParams&, Tensor&) { KILN_PENDING(avg_pool2d_forward); }
void CpuBackend::avg_pool2d_backward(const Tensor&, const detail::Pool2dParams&, Tensor&) { KILN_PENDING(avg_pool2d_backward); }
void CpuBackend::batch_norm_forward(const Tensor&, const Tensor&, const Tensor&, Tensor&, Tensor&, bool, double, double, Tensor&, Tensor&, Tensor&) { KILN_PENDING(batch_norm_forward); }
void CpuBackend::batch_norm_backward(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool, Tensor&, Tensor&, Tensor&) { KILN_PENDING(batch_norm_backward); }
void CpuBackend::sgd_update(const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&, const detail::SgdHyper&) { KILN_PENDING(sgd_update); }
void CpuBackend::adam_update(const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&, const std::vector<Tensor>&, const detail::AdamHyper&) { KILN_PENDING(adam_update); }
}  // namespace kiln::cpu
