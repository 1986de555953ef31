// Launch-configuration helpers shared by the kernel families.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "common/check.h"

namespace kiln::kernels {

constexpr int kThreads = 256;  // default block size: 8 warps

// Streaming-multiprocessor count of the current device, cached per device.
inline int sm_count() {
  constexpr int kMaxDevices = 64;
  static int cache[kMaxDevices] = {};
  int dev = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&dev));
  if (dev >= kMaxDevices) {
    int n = 0;
    KILN_CUDA_CHECK(cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev));
    return n;
  }
  if (cache[dev] == 0) KILN_CUDA_CHECK(cudaDeviceGetAttribute(&cache[dev], cudaDevAttrMultiProcessorCount, dev));
  return cache[dev];
}

// Blocks for `work_items` items, `per_block` per block, capped at a number
// that fills the GPU many times over: kernels use grid-stride loops, so the
// cap only bounds launch size, never correctness.
inline unsigned grid_for(int64_t work_items, int64_t per_block) {
  const int64_t blocks = (work_items + per_block - 1) / per_block;
  const int64_t cap = static_cast<int64_t>(sm_count()) * 64;
  return static_cast<unsigned>(std::max<int64_t>(1, std::min(blocks, cap)));
}

inline constexpr int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

// The global index and stride of a 1-D grid-stride loop, in 64 bits.
__device__ inline int64_t global_thread() {
  return static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
}
__device__ inline int64_t grid_threads() { return static_cast<int64_t>(gridDim.x) * blockDim.x; }

}  // namespace kiln::kernels
