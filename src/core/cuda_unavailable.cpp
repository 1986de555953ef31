// kiln::cuda queries for a build without the CUDA backend.
#include "kiln/core/error.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

bool is_built() { return false; }
bool is_available() { return false; }
int device_count() { return 0; }
std::string unavailable_reason() { return "kiln was built without CUDA (configure with -DKILN_CUDA=ON)"; }
DeviceProperties get_device_properties(int device) {
  throw DeviceError(detail::str_cat("get_device_properties(", device, "): ", unavailable_reason()));
}
void synchronize(int) {}

}  // namespace kiln::cuda
