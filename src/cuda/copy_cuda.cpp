// CudaBackend::copy / fill / arange: kernels/copy.cu.
#include <cstring>

#include "cuda/cuda_backend.h"
#include "cuda/kernel_args.h"

namespace kiln::cuda {

void CudaBackend::copy(const Tensor& src, Tensor& dst) {
  KILN_CHECK(src.device() == dst.device(), DeviceError, "copy: the cuda backend copies within one device, got ",
             src.device(), " -> ", dst.device());
  if (dst.numel() == 0) return;
  LaunchContext ctx(dst.device());
  const auto arrays = coalesced_arrays("copy", {&dst, &src});
  kernels::launch_copy(arrays[1], arrays[0], ctx.stream);
}

void CudaBackend::fill(Tensor& out, const Scalar& value) {
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  // The value converted on the host exactly as the CPU backend converts it
  // (the storage-only dtypes too: zeros(shape, kInt8) fills on a GPU as on the CPU).
  unsigned char bytes[8] = {};
  visit_any_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.to<T>();
    std::memcpy(bytes, &v, sizeof(T));
  });
  const auto arrays = coalesced_arrays("fill", {&out});
  kernels::launch_fill(arrays[0], bytes, ctx.stream);
}

void CudaBackend::arange(Tensor& out, double start, double step) {
  KILN_INTERNAL_ASSERT(out.is_contiguous(), "arange expects a contiguous output");
  if (out.numel() == 0) return;
  LaunchContext ctx(out.device());
  kernels::launch_arange(out.raw_data_ptr(), out.dtype(), out.numel(), start, step, ctx.stream);
}

}  // namespace kiln::cuda
