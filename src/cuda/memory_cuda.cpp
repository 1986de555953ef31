// CUDA memory: tensor storage from the caching allocator (CudaAllocator,
// registered with the core in cuda_backend_registry.cpp), device
// synchronisation, and copies between the CPU and a GPU.
//
// transfer() queues cudaMemcpyAsync on the current stream. It returns before
// the copy finishes only when non_blocking was asked for AND the host side is
// pinned; the pinned buffer is then protected by an event until the copy is
// done. Pageable host memory always waits, so the caller may reuse it.
#include <cuda_runtime.h>

#include "core/tensor_impl.h"
#include "cuda/caching_allocator.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"

namespace kiln::cuda {

std::shared_ptr<detail::Storage> CudaAllocator::allocate(size_t nbytes, Device device) {
  check_device_usable(device);
  const int d = device.index();
  DeviceGuard guard(d);
  const auto stream = reinterpret_cast<StreamId>(current_stream(d));
  void* p = device_allocator(d).allocate(nbytes, stream);
  return std::make_shared<detail::Storage>(p, nbytes, device, [d](void* q) {
    if (q == nullptr) return;
    try {
      device_allocator(d).free(q);
    } catch (...) {  // destructors never throw
    }
  });
}

void CudaBackend::synchronize(Device device) {
  DeviceGuard guard(device.index());
  KILN_CUDA_CHECK(cudaDeviceSynchronize());
  check_deferred_errors(device.index(), /*wait=*/true);
}

void CudaBackend::transfer(const Tensor& src, Tensor& dst, bool non_blocking) {
  const bool to_device = src.device().is_cpu();
  KILN_CHECK(to_device != dst.device().is_cpu() && (src.is_cuda() || dst.is_cuda()), DeviceError,
             "transfer: the CUDA backend copies between the CPU and a GPU, got ", src.device(), " -> ",
             dst.device());
  KILN_CHECK(src.dtype() == dst.dtype() && src.sizes() == dst.sizes(), ValueError,
             "transfer: source and destination must match, got ", shape_str(src.sizes()), " ",
             dtype_name(src.dtype()), " -> ", shape_str(dst.sizes()), " ", dtype_name(dst.dtype()));
  KILN_INTERNAL_ASSERT(dst.is_contiguous(), "transfer: destination must be contiguous");
  Tensor s = src;
  if (!src.is_contiguous()) {  // a dense copy on the source's own device
    s = detail::make_empty(src.sizes(), src.dtype(), src.device());
    detail::backend_for(src.device()).copy(src, s);
  }
  const size_t nbytes = static_cast<size_t>(s.numel()) * s.element_size();
  if (nbytes == 0) return;

  const int device = to_device ? dst.device().index() : src.device().index();
  DeviceGuard guard(device);
  cudaStream_t stream = current_stream(device);
  void* host = to_device ? s.raw_data_ptr() : dst.raw_data_ptr();
  const bool pinned = is_pinned_pointer(host);
  KILN_CUDA_CHECK(cudaMemcpyAsync(dst.raw_data_ptr(), s.raw_data_ptr(), nbytes,
                                  to_device ? cudaMemcpyHostToDevice : cudaMemcpyDeviceToHost, stream));
  if (non_blocking && pinned) {
    // The pinned buffer must not be reused for something else until the
    // copy has read (H2D) or written (D2H) it.
    if (pinned_host_pool().owns(host)) pinned_host_pool().record_use(host, reinterpret_cast<StreamId>(stream));
    return;
  }
  KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
  // The host waited anyway: raise what kernels flagged before this copy.
  check_deferred_errors(device, /*wait=*/false);
}

}  // namespace kiln::cuda
