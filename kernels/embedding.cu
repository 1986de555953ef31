// The embedding lookup and its backward.
//
// Forward: one thread per output element, a grid-stride loop over N * C;
// the thread of column 0 counts an id outside [0, V) for the op's deferred
// error (the row is written as zeros). With C == 0 there is no element to
// hang the check on, and a thread per id checks the ids alone, so that the
// GPU refuses what the CPU refuses.
// Backward, deterministic (kiln::cuda::embedding_deterministic, the
// default): cub's radix sort orders the ids together with their positions
// (stably, so equal ids keep position order); then, one thread per (sorted
// position, column), the thread at the first position of each run of equal
// ids adds that id's gradient rows in order, in f32 (f64 for f64), and
// writes the sum. No float atomics: the result repeats bit for bit. A run
// is serial in its length; a token that fills a whole batch costs N adds
// per column.
// Backward, atomic: one thread per gradient element adds into the zeroed
// result with atomicAdd (f32, f64; f16/bf16 add into an f32 copy that a
// last kernel rounds).
#include <cub/device/device_radix_sort.cuh>

#include "common/check.h"
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "embedding.h"

namespace kiln::kernels {

namespace {

// Counts a bad id and keeps one of them for the error message.
__device__ inline void record_bad_id(int64_t* errors, int64_t id) {
  atomicAdd(reinterpret_cast<unsigned long long*>(&errors[0]), 1ull);
  atomicExch(reinterpret_cast<unsigned long long*>(&errors[1]), static_cast<unsigned long long>(id));
}

template <class T>
__global__ void embedding_fwd_kernel(const T* __restrict__ w, const int64_t* __restrict__ ids, T* __restrict__ out,
                                     int64_t* __restrict__ errors, int64_t N, int64_t V, int64_t C) {
  for (int64_t i = global_thread(); i < N * C; i += grid_threads()) {
    const int64_t n = i / C, c = i % C;
    const int64_t id = ids[n];
    if (id < 0 || id >= V) {
      out[i] = static_cast<T>(opmath_t<T>(0));
      if (c == 0) record_bad_id(errors, id);
      continue;
    }
    out[i] = w[id * C + c];
  }
}

__global__ void embedding_check_ids_kernel(const int64_t* __restrict__ ids, int64_t* __restrict__ errors, int64_t N,
                                           int64_t V) {
  for (int64_t n = global_thread(); n < N; n += grid_threads()) {
    const int64_t id = ids[n];
    if (id < 0 || id >= V) record_bad_id(errors, id);
  }
}

__global__ void iota_kernel(int64_t* __restrict__ p, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) p[i] = i;
}

template <class T>
__global__ void embedding_segment_kernel(const T* __restrict__ grad, const int64_t* __restrict__ sorted_ids,
                                         const int64_t* __restrict__ positions, T* __restrict__ gw, int64_t N,
                                         int64_t V, int64_t C, int64_t padding_idx) {
  using V_ = acc_t<T>;
  for (int64_t i = global_thread(); i < N * C; i += grid_threads()) {
    const int64_t k = i / C, c = i % C;
    const int64_t id = sorted_ids[k];
    if (k > 0 && sorted_ids[k - 1] == id) continue;  // not the first of its run
    if (id < 0 || id >= V || id == padding_idx) continue;
    V_ acc = 0;
    for (int64_t j = k; j < N && sorted_ids[j] == id; ++j) acc += static_cast<V_>(grad[positions[j] * C + c]);
    gw[id * C + c] = static_cast<T>(acc);
  }
}

template <class A, class T>
__global__ void embedding_atomic_kernel(const T* __restrict__ grad, const int64_t* __restrict__ ids, A* __restrict__ acc,
                                        int64_t N, int64_t V, int64_t C, int64_t padding_idx) {
  for (int64_t i = global_thread(); i < N * C; i += grid_threads()) {
    const int64_t n = i / C, c = i % C;
    const int64_t id = ids[n];
    if (id < 0 || id >= V || id == padding_idx) continue;
    atomicAdd(&acc[id * C + c], static_cast<A>(grad[i]));
  }
}

template <class T>
__global__ void round_kernel(const float* __restrict__ src, T* __restrict__ dst, int64_t n) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) dst[i] = static_cast<T>(src[i]);
}

size_t align_up(size_t b) { return (b + 255) / 256 * 256; }

size_t sort_temp_bytes(int64_t N) {
  size_t bytes = 0;
  KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(nullptr, bytes, static_cast<const int64_t*>(nullptr),
                                                  static_cast<int64_t*>(nullptr), static_cast<const int64_t*>(nullptr),
                                                  static_cast<int64_t*>(nullptr), N));
  return bytes;
}

}  // namespace

void launch_embedding_fwd(const void* weight, const int64_t* ids, void* out, int64_t* errors, DType dtype, int64_t N,
                          int64_t V, int64_t C, cudaStream_t stream) {
  const char* name = "embedding_fwd";
  KILN_NVTX_RANGE(name);
  if (N == 0) return;
  if (C == 0) {
    embedding_check_ids_kernel<<<grid_for(N, kThreads), kThreads, 0, stream>>>(ids, errors, N, V);
    KILN_CHECK_LAUNCH(name, stream);
    return;
  }
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    embedding_fwd_kernel<T><<<grid_for(N * C, kThreads), kThreads, 0, stream>>>(
        static_cast<const T*>(weight), ids, static_cast<T*>(out), errors, N, V, C);
    KILN_CHECK_LAUNCH(name, stream);
  });
}

size_t embedding_bwd_workspace_bytes(DType dtype, int64_t N, int64_t V, int64_t C, bool deterministic) {
  if (N == 0 || V == 0 || C == 0) return 0;
  if (!deterministic)
    return dtype == DType::Float16 || dtype == DType::BFloat16 ? static_cast<size_t>(V * C) * sizeof(float) : 0;
  // positions, sorted ids, sorted positions, cub's scratch.
  return 3 * align_up(static_cast<size_t>(N) * sizeof(int64_t)) + align_up(sort_temp_bytes(N));
}

void launch_embedding_bwd(const void* grad, const int64_t* ids, void* grad_weight, void* workspace, DType dtype,
                          int64_t N, int64_t V, int64_t C, int64_t padding_idx, bool deterministic,
                          cudaStream_t stream) {
  const char* name = "embedding_bwd";
  KILN_NVTX_RANGE(name);
  if (V == 0 || C == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    KILN_CUDA_CHECK(cudaMemsetAsync(grad_weight, 0, static_cast<size_t>(V * C) * sizeof(T), stream));
    if (N == 0) return;
    const T* g = static_cast<const T*>(grad);
    T* gw = static_cast<T*>(grad_weight);
    if (deterministic) {
      char* ws = static_cast<char*>(workspace);
      const size_t ids_bytes = align_up(static_cast<size_t>(N) * sizeof(int64_t));
      int64_t* positions = reinterpret_cast<int64_t*>(ws);
      int64_t* sorted_ids = reinterpret_cast<int64_t*>(ws + ids_bytes);
      int64_t* sorted_pos = reinterpret_cast<int64_t*>(ws + 2 * ids_bytes);
      void* temp = ws + 3 * ids_bytes;
      size_t temp_bytes = sort_temp_bytes(N);
      iota_kernel<<<grid_for(N, kThreads), kThreads, 0, stream>>>(positions, N);
      KILN_CHECK_LAUNCH(name, stream);
      KILN_CUDA_CHECK(cub::DeviceRadixSort::SortPairs(temp, temp_bytes, ids, sorted_ids, positions, sorted_pos, N, 0,
                                                      64, stream));
      embedding_segment_kernel<T><<<grid_for(N * C, kThreads), kThreads, 0, stream>>>(g, sorted_ids, sorted_pos, gw,
                                                                                      N, V, C, padding_idx);
      KILN_CHECK_LAUNCH(name, stream);
      return;
    }
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>) {
      embedding_atomic_kernel<T, T><<<grid_for(N * C, kThreads), kThreads, 0, stream>>>(g, ids, gw, N, V, C,
                                                                                        padding_idx);
      KILN_CHECK_LAUNCH(name, stream);
    } else {
      float* acc = static_cast<float*>(workspace);
      KILN_CUDA_CHECK(cudaMemsetAsync(acc, 0, static_cast<size_t>(V * C) * sizeof(float), stream));
      embedding_atomic_kernel<float, T><<<grid_for(N * C, kThreads), kThreads, 0, stream>>>(g, ids, acc, N, V, C,
                                                                                            padding_idx);
      KILN_CHECK_LAUNCH(name, stream);
      round_kernel<T><<<grid_for(V * C, kThreads), kThreads, 0, stream>>>(acc, gw, V * C);
      KILN_CHECK_LAUNCH(name, stream);
    }
  });
}

}  // namespace kiln::kernels
