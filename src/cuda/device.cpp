// kiln::cuda device queries. With no driver, cudaGetDeviceCount returns
// cudaErrorInsufficientDriver (35) or cudaErrorNoDevice (100): both mean
// "no GPU", never a crash.
#include <cuda_runtime.h>

#include "common/check.h"
#include "cuda/cuda_backend.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

namespace {
struct Probe {
  int count = 0;
  std::string reason;
};
const Probe& probe() {
  static const Probe p = [] {
    Probe r;
    int n = 0;
    cudaError_t err = cudaGetDeviceCount(&n);
    if (err != cudaSuccess) {
      r.reason = std::string("cudaGetDeviceCount failed: ") + cudaGetErrorName(err) + " (" + cudaGetErrorString(err) + ")";
      cudaGetLastError();  // clear the sticky error
      return r;
    }
    r.count = n;
    if (n == 0) r.reason = "no CUDA device is present";
    return r;
  }();
  return p;
}
}  // namespace

bool is_built() { return true; }
bool is_available() { return probe().count > 0; }
int device_count() { return probe().count; }
std::string unavailable_reason() { return probe().reason; }

DeviceProperties get_device_properties(int device) {
  KILN_CHECK(device >= 0 && device < device_count(), DeviceError, "get_device_properties: device ", device,
             " does not exist (", device_count(), " CUDA devices", device_count() ? "" : ": " + unavailable_reason(),
             ")");
  cudaDeviceProp prop{};
  KILN_CUDA_CHECK(cudaGetDeviceProperties(&prop, device));
  DeviceProperties p;
  p.name = prop.name;
  p.multiprocessors = prop.multiProcessorCount;
  p.total_memory = prop.totalGlobalMem;
  p.major = prop.major;
  p.minor = prop.minor;
  return p;
}

void synchronize(int device) {
  if (!is_available()) return;
  int prev = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&prev));
  const int d = device < 0 ? prev : device;
  KILN_CUDA_CHECK(cudaSetDevice(d));
  KILN_CUDA_CHECK(cudaDeviceSynchronize());
  KILN_CUDA_CHECK(cudaSetDevice(prev));
  check_deferred_errors(d, /*wait=*/true);  // errors flagged by kernels (cuda_backend.h)
}

}  // namespace kiln::cuda
