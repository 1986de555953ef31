// CudaBackend::defer_error_check: errors a kernel flags on the device (an
// out-of-range class index in cross_entropy) without the host waiting for
// it. The flag is copied into pinned host memory on the op's stream, behind
// an event; the check runs when that event has completed, which is at the
// latest the next time the host waits for the device anyway: a blocking
// copy to the CPU (item(), to("cpu")) or synchronize(). Under
// KILN_CUDA_SYNC_DEBUG=1 it runs at once, so the error names its op's call.
#include <cuda_runtime.h>

#include <mutex>
#include <utility>
#include <vector>

#include "cuda/caching_allocator.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"

namespace kiln::cuda {

namespace {

struct PendingCheck {
  int device = 0;
  cudaEvent_t copied = nullptr;  // the flag has reached `host`
  int64_t* host = nullptr;       // 2 values in pinned memory
  std::function<void(int64_t, int64_t)> raise;
};

std::mutex g_pending_mutex;
std::vector<PendingCheck>& pending_checks() {
  static auto* p = new std::vector<PendingCheck>();  // outlives static destructors
  return *p;
}

bool copied(const PendingCheck& c, bool wait) {
  if (wait) {
    KILN_CUDA_CHECK(cudaEventSynchronize(c.copied));
    return true;
  }
  const cudaError_t err = cudaEventQuery(c.copied);
  if (err == cudaErrorNotReady) return false;
  KILN_CUDA_CHECK(err);
  return true;
}

}  // namespace

void check_deferred_errors(int device, bool wait) {
  std::vector<PendingCheck> done;
  {
    std::lock_guard<std::mutex> lock(g_pending_mutex);
    std::vector<PendingCheck>& all = pending_checks();
    std::vector<PendingCheck> still;
    for (PendingCheck& c : all) {
      if (c.device == device && copied(c, wait)) done.push_back(std::move(c));
      else still.push_back(std::move(c));
    }
    all.swap(still);
  }
  // Release everything before raising the first error found.
  std::function<void(int64_t, int64_t)> raise;
  int64_t count = 0, value = 0;
  for (PendingCheck& c : done) {
    if (!raise && c.host[0] != 0) {
      raise = std::move(c.raise);
      count = c.host[0];
      value = c.host[1];
    }
    cudaEventDestroy(c.copied);
    pinned_host_pool().free(c.host);
  }
  if (raise) raise(count, value);
}

void CudaBackend::defer_error_check(const Tensor& flag, std::function<void(int64_t, int64_t)> raise) {
  const int dev = flag.device().index();
  DeviceGuard guard(dev);
  const cudaStream_t stream = current_stream(dev);
  PendingCheck c;
  c.device = dev;
  c.raise = std::move(raise);
  c.host = static_cast<int64_t*>(pinned_host_pool().allocate(2 * sizeof(int64_t)));
  try {
    KILN_CUDA_CHECK(cudaMemcpyAsync(c.host, flag.raw_data_ptr(), 2 * sizeof(int64_t), cudaMemcpyDeviceToHost, stream));
    KILN_CUDA_CHECK(cudaEventCreateWithFlags(&c.copied, cudaEventDisableTiming));
    KILN_CUDA_CHECK(cudaEventRecord(c.copied, stream));
  } catch (...) {
    if (c.copied) cudaEventDestroy(c.copied);
    pinned_host_pool().free(c.host);
    throw;
  }
  {
    std::lock_guard<std::mutex> lock(g_pending_mutex);
    pending_checks().push_back(std::move(c));
  }
  // Checks already copied are done now, so the list stays as short as the
  // work in flight; with sync debug this one is waited for.
  check_deferred_errors(dev, kernels::sync_debug_enabled());
}

}  // namespace kiln::cuda
