// Warp and block reductions with a caller-given combine(a, b), for any
// trivially copyable value type (float, double, int64, (value, index) pairs).
#pragma once
#include <cuda_runtime.h>

namespace kiln::kernels {

constexpr unsigned kFullMask = 0xffffffffu;

// Shuffles a value of any size 4-byte word by word.
template <class T>
__device__ inline T shfl_down(T v, int delta, int width = 32) {
  static_assert(sizeof(T) % 4 == 0, "shfl_down: value size must be a multiple of 4 bytes");
  union {
    T value;
    int words[sizeof(T) / 4];
  } u{v};
#pragma unroll
  for (int i = 0; i < static_cast<int>(sizeof(T) / 4); ++i) u.words[i] = __shfl_down_sync(kFullMask, u.words[i], delta, width);
  return u.value;
}
template <class T>
__device__ inline T shfl_xor(T v, int mask, int width = 32) {
  static_assert(sizeof(T) % 4 == 0, "shfl_xor: value size must be a multiple of 4 bytes");
  union {
    T value;
    int words[sizeof(T) / 4];
  } u{v};
#pragma unroll
  for (int i = 0; i < static_cast<int>(sizeof(T) / 4); ++i) u.words[i] = __shfl_xor_sync(kFullMask, u.words[i], mask, width);
  return u.value;
}

// Butterfly over groups of `width` lanes (a power of two <= 32): every lane
// of a group ends with the group's combined value. All 32 lanes must call.
template <class T, class Combine>
__device__ inline T group_allreduce(T v, int width, Combine combine) {
  for (int m = width / 2; m > 0; m /= 2) v = combine(v, shfl_xor(v, m, width));
  return v;
}
template <class T, class Combine>
__device__ inline T warp_allreduce(T v, Combine combine) {
  return group_allreduce(v, 32, combine);
}

// Whole-block reduction; every thread gets the result. `identity` fills the
// slots of missing warps. blockDim.x must be a multiple of 32 (<= 1024).
// Uses 32 * sizeof(T) bytes of static shared memory per call site and ends
// with a barrier, so it may be called repeatedly.
template <class T, class Combine>
__device__ inline T block_allreduce(T v, T identity, Combine combine) {
  __shared__ T partial[32];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warp_allreduce(v, combine);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  T r = lane < warps ? partial[lane] : identity;
  r = warp_allreduce(r, combine);
  __syncthreads();  // partial[] may be reused by the next call
  return r;
}

}  // namespace kiln::kernels
