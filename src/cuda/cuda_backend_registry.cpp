// Hands out the CUDA backend for a device, after checking that it exists,
// and registers the CUDA allocator with the core when libkiln is loaded.
#include "backend/backend.h"
#include "core/allocator.h"
#include "cuda/cuda_backend.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

void check_device_usable(const Device& device) {
  KILN_CHECK(is_available(), DeviceError, "device ", device, " is not available: ", unavailable_reason());
  KILN_CHECK(device.index() < device_count(), DeviceError, "device ", device, " does not exist (", device_count(),
             " CUDA devices present)");
}

namespace {
// Runs while libkiln loads, before any tensor can be made; the registry it
// writes to is constant-initialised (src/core/allocator.cpp).
[[maybe_unused]] const bool g_registered = [] {
  static CudaAllocator allocator;
  detail::set_allocator(DeviceType::CUDA, &allocator);
  return true;
}();
}  // namespace

}  // namespace kiln::cuda

namespace kiln::detail {

Backend& cuda_backend(const Device& device) {
  kiln::cuda::check_device_usable(device);
  // One stateless backend serves every device: each method takes the device
  // from its tensors and makes it current for the launch.
  static kiln::cuda::CudaBackend backend;
  return backend;
}

}  // namespace kiln::detail
