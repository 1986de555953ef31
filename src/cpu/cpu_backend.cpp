// CPU copies, fills and the backend registry.
#include "cpu/cpu_backend.h"

#include <cstring>

#include "cpu/loops.h"
#include "kiln/core/convert.h"

namespace kiln::cpu {

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() && src.sizes() == dst.sizes()) {
    std::memcpy(dst.raw_data_ptr(), src.raw_data_ptr(), dst.numel() * dst.element_size());
    return;
  }
  // Copies and conversions are the one arithmetic-free work the storage-only
  // dtypes get, so they dispatch over every dtype.
  visit_any_dtype(dst.dtype(), [&](auto out_tag) {
    using TOut = decltype(out_tag);
    visit_any_dtype(src.dtype(), [&](auto in_tag) {
      using TIn = decltype(in_tag);
      map_elements<TOut, TIn>(dst, {&src}, [](auto v) { return convert<TOut>(v); });
    });
  });
}

void CpuBackend::defer_error_check(const Tensor& flag, std::function<void(int64_t, int64_t)> raise) {
  // The values are already here: check now.
  const int64_t* v = static_cast<const int64_t*>(flag.raw_data_ptr());
  if (v[0] != 0) raise(v[0], v[1]);
}

void CpuBackend::transfer(const Tensor& src, Tensor& dst, bool) {
  KILN_CHECK(src.device().is_cpu() && dst.device().is_cpu(), DeviceError, "transfer: the cpu backend copies only ",
             "between cpu tensors, got ", src.device(), " -> ", dst.device());
  copy(src, dst);
}

void CpuBackend::fill(Tensor& out, const Scalar& value) {
  visit_any_dtype(out.dtype(), [&](auto tag) {  // zeros(shape, kInt8) too
    using T = decltype(tag);
    const T v = value.to<T>();
    map_elements<T>(out, {}, [v]() { return static_cast<opmath_t<T>>(v); });
  });
}

void CpuBackend::arange(Tensor& out, double start, double step) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.raw_data_ptr());
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = convert<T>(start + step * static_cast<double>(i));
  });
}

}  // namespace kiln::cpu

namespace kiln::detail {

Backend& cpu_backend() {
  static cpu::CpuBackend backend;
  return backend;
}

// Provided by src/cuda when kiln is built with CUDA.
#if KILN_WITH_CUDA
Backend& cuda_backend(const Device& device);
#endif

Backend& backend_for(const Device& device) {
  if (device.is_cpu()) return cpu_backend();
#if KILN_WITH_CUDA
  return cuda_backend(device);
#else
  throw DeviceError(str_cat("device ", device, ": kiln was built without CUDA (configure with -DKILN_CUDA=ON)"));
#endif
}

}  // namespace kiln::detail
