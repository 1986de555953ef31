// Hands out the CUDA backend for a device, after checking that it exists.
#include "backend/backend.h"
#include "cuda/cuda_backend.h"
#include "kiln/cuda.h"

namespace kiln::detail {

Backend& cuda_backend(const Device& device) {
  KILN_CHECK(kiln::cuda::is_available(), DeviceError, "device ", device, " is not available: ",
             kiln::cuda::unavailable_reason());
  KILN_CHECK(device.index() < kiln::cuda::device_count(), DeviceError, "device ", device, " does not exist (",
             kiln::cuda::device_count(), " CUDA devices present)");
  // One stateless backend serves every device: each method takes the device
  // from its tensors and makes it current for the launch.
  static kiln::cuda::CudaBackend backend;
  return backend;
}

}  // namespace kiln::detail
