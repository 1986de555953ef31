// Stable row sort and top-k by cub's segmented radix sort.
//
// Each element becomes an unsigned key whose order is the CPU's order
// (src/cpu/sort_cpu.cpp): floats (f16/bf16 widened to f32) by the usual
// sign-flip of their bits, -0 mapped to +0 and every NaN to the largest key;
// signed integers with the sign bit flipped; bool and uint8 as they are.
// cub::DeviceSegmentedRadixSort sorts the keys of each row with their
// positions in the row; radix sort is stable both ways, so equal keys keep
// their order, as std::stable_sort does on the CPU. A last kernel gathers
// the values from x at the sorted positions (the first k per row for topk,
// which sorts whole rows). cub counts items in int, so rows go in chunks of
// at most INT_MAX elements.
#include <cub/device/device_segmented_radix_sort.cuh>

#include <climits>

#include "common/check.h"
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "sort.h"

namespace kiln::kernels {

namespace {

template <class T>
__device__ inline uint64_t sort_key(T v) {
  if constexpr (std::is_same_v<T, double>) {
    if (v != v) return ~uint64_t{0};
    if (v == 0.0) v = 0.0;
    const uint64_t u = static_cast<uint64_t>(__double_as_longlong(v));
    return (u >> 63) ? ~u : (u | (uint64_t{1} << 63));
  } else if constexpr (std::is_floating_point_v<opmath_t<T>>) {
    float f = static_cast<float>(v);
    if (f != f) return 0xFFFFFFFFull;
    if (f == 0.0f) f = 0.0f;
    const uint32_t u = __float_as_uint(f);
    return (u >> 31) ? static_cast<uint32_t>(~u) : (u | 0x80000000u);
  } else if constexpr (std::is_same_v<T, int32_t>) {
    return static_cast<uint32_t>(v) ^ 0x80000000u;
  } else if constexpr (std::is_same_v<T, int64_t>) {
    return static_cast<uint64_t>(v) ^ (uint64_t{1} << 63);
  } else {
    return static_cast<uint64_t>(v);  // bool, uint8
  }
}

template <class T>
int key_bits() {
  return sizeof(T) == 8 ? 64 : (std::is_floating_point_v<opmath_t<T>> || sizeof(T) == 4 ? 32 : 8);
}

template <class T>
__global__ void make_keys_kernel(const T* __restrict__ x, uint64_t* __restrict__ keys, int64_t* __restrict__ pos,
                                 int64_t count, int64_t n) {
  for (int64_t i = global_thread(); i < count; i += grid_threads()) {
    keys[i] = sort_key(x[i]);
    pos[i] = i % n;
  }
}

__global__ void offsets_kernel(int* __restrict__ offsets, int64_t rows, int64_t n) {
  for (int64_t r = global_thread(); r <= rows; r += grid_threads()) offsets[r] = static_cast<int>(r * n);
}

// values/indices [R, k] from the sorted positions [R, n] of x's rows.
template <class T>
__global__ void gather_kernel(const T* __restrict__ x, const int64_t* __restrict__ sorted_pos, T* __restrict__ values,
                              int64_t* __restrict__ indices, int64_t R, int64_t n, int64_t k) {
  for (int64_t i = global_thread(); i < R * k; i += grid_threads()) {
    const int64_t r = i / k, j = i % k;
    const int64_t p = sorted_pos[r * n + j];
    indices[i] = p;
    values[i] = x[r * n + p];
  }
}

size_t align_up(size_t b) { return (b + 255) / 256 * 256; }

// Rows per cub call: as many as keep the item count within int.
int64_t rows_per_chunk(int64_t R, int64_t n) {
  if (n == 0) return R;
  return std::max<int64_t>(1, std::min<int64_t>(R, (INT_MAX - 1) / n));
}

struct Buffers {
  uint64_t *keys_in, *keys_out;
  int64_t *pos_in, *pos_out;
  int* offsets;
  void* temp;
  size_t temp_bytes;
};

size_t temp_bytes_for(int64_t rows, int64_t n) {
  size_t bytes = 0;
  KILN_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(
      nullptr, bytes, static_cast<const uint64_t*>(nullptr), static_cast<uint64_t*>(nullptr),
      static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr), static_cast<int>(rows * n),
      static_cast<int>(rows), static_cast<const int*>(nullptr), static_cast<const int*>(nullptr)));
  size_t desc = 0;
  KILN_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
      nullptr, desc, static_cast<const uint64_t*>(nullptr), static_cast<uint64_t*>(nullptr),
      static_cast<const int64_t*>(nullptr), static_cast<int64_t*>(nullptr), static_cast<int>(rows * n),
      static_cast<int>(rows), static_cast<const int*>(nullptr), static_cast<const int*>(nullptr)));
  return std::max(bytes, desc);
}

Buffers carve(void* workspace, int64_t R, int64_t n) {
  const int64_t rows = rows_per_chunk(R, n);
  const size_t items = static_cast<size_t>(rows * n);
  char* p = static_cast<char*>(workspace);
  Buffers b{};
  b.keys_in = reinterpret_cast<uint64_t*>(p);
  p += align_up(items * sizeof(uint64_t));
  b.keys_out = reinterpret_cast<uint64_t*>(p);
  p += align_up(items * sizeof(uint64_t));
  b.pos_in = reinterpret_cast<int64_t*>(p);
  p += align_up(items * sizeof(int64_t));
  b.offsets = reinterpret_cast<int*>(p);
  p += align_up(static_cast<size_t>(rows + 1) * sizeof(int));
  b.temp = p;
  b.temp_bytes = temp_bytes_for(rows, n);
  p += align_up(b.temp_bytes);
  b.pos_out = reinterpret_cast<int64_t*>(p);
  return b;
}

// Sorts rows [r0, r0 + rows) (their positions into pos_out), then gathers the first k.
template <class T>
void sort_rows(const T* x, T* values, int64_t* indices, const Buffers& b, int64_t r0, int64_t rows, int64_t n,
               int64_t k, bool descending, int64_t* pos_out, cudaStream_t stream) {
  const int64_t items = rows * n;
  make_keys_kernel<T><<<grid_for(items, kThreads), kThreads, 0, stream>>>(x + r0 * n, b.keys_in, b.pos_in, items, n);
  offsets_kernel<<<grid_for(rows + 1, kThreads), kThreads, 0, stream>>>(b.offsets, rows, n);
  size_t temp_bytes = b.temp_bytes;
  const int bits = key_bits<T>();
  if (descending)
    KILN_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairsDescending(
        b.temp, temp_bytes, b.keys_in, b.keys_out, b.pos_in, pos_out, static_cast<int>(items), static_cast<int>(rows),
        b.offsets, b.offsets + 1, 0, bits, stream));
  else
    KILN_CUDA_CHECK(cub::DeviceSegmentedRadixSort::SortPairs(b.temp, temp_bytes, b.keys_in, b.keys_out, b.pos_in,
                                                             pos_out, static_cast<int>(items), static_cast<int>(rows),
                                                             b.offsets, b.offsets + 1, 0, bits, stream));
  gather_kernel<T><<<grid_for(rows * k, kThreads), kThreads, 0, stream>>>(x + r0 * n, pos_out, values + r0 * k,
                                                                          indices + r0 * k, rows, n, k);
}

void run(const char* name, const void* x, void* values, int64_t* indices, void* workspace, DType dtype, int64_t R,
         int64_t n, int64_t k, bool descending, cudaStream_t stream) {
  KILN_NVTX_RANGE(name);
  if (R == 0 || n == 0 || k == 0) return;
  const Buffers b = carve(workspace, R, n);
  const int64_t chunk = rows_per_chunk(R, n);
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    for (int64_t r0 = 0; r0 < R; r0 += chunk) {
      const int64_t rows = std::min(chunk, R - r0);
      sort_rows<T>(static_cast<const T*>(x), static_cast<T*>(values), indices, b, r0, rows, n, k, descending,
                   b.pos_out, stream);
    }
    KILN_CHECK_LAUNCH(name, stream);
  });
}

}  // namespace

size_t sort_workspace_bytes(int64_t R, int64_t n) {
  if (R == 0 || n == 0) return 0;
  const int64_t rows = rows_per_chunk(R, n);
  const size_t items = static_cast<size_t>(rows * n);
  return 4 * align_up(items * sizeof(uint64_t)) + align_up(static_cast<size_t>(rows + 1) * sizeof(int)) +
         align_up(temp_bytes_for(rows, n));
}

void launch_sort(const void* x, void* values, int64_t* indices, void* workspace, DType dtype, int64_t R, int64_t n,
                 bool descending, cudaStream_t stream) {
  run("sort", x, values, indices, workspace, dtype, R, n, n, descending, stream);
}

void launch_topk(const void* x, void* values, int64_t* indices, void* workspace, DType dtype, int64_t R, int64_t n,
                 int64_t k, bool largest, cudaStream_t stream) {
  run("topk", x, values, indices, workspace, dtype, R, n, k, largest, stream);
}

}  // namespace kiln::kernels
