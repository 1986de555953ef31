// index_select, gather and scatter_add along one dim.
//
// Shapes (up to 8 dims, any strides): index_select: out is x with
// out.sizes[dim] = number of indices, index 1-D int64; gather: index and
// out share sizes; scatter_add: index and src share sizes, out is updated.
// Index values were range-checked by the op layer (src/ops/indexing.cpp).
// index_select and gather overwrite out, moving elements as raw bytes (one
// kernel per element size, so every dtype is supported). scatter_add
// accumulates (+=) with atomics in the element's own type: hardware atomicAdd
// for i32, i64, f32 and f64; a 32-bit compare-and-swap loop for u8, bool,
// f16 and bf16 (f16/bf16 add in f32 and round with kiln::Half/BFloat16, like
// the CPU). The order of additions into one element is not fixed, so float
// results may differ from the CPU's serial order in the last bits. The
// 8/16-bit path touches the aligned 4-byte word holding the element; device
// allocations are padded to whole words, so it never leaves the allocation.
// One thread per element of out (index_select) or index (gather, scatter_add).
#include <type_traits>

#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "index.h"

namespace kiln::kernels {

namespace {

struct Coords {
  int ndim;
  int64_t sizes[kMaxDims];
};

template <class E>
__global__ void index_select_kernel(const E* __restrict__ x, E* __restrict__ out, const int64_t* __restrict__ index,
                                    int64_t index_stride, StridedArray xs, StridedArray os, int dim, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    int64_t rem = i, xoff = 0, ooff = 0;
    for (int d = os.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % os.sizes[d];
      rem /= os.sizes[d];
      ooff += c * os.strides[d];
      xoff += (d == dim ? index[c * index_stride] : c) * xs.strides[d];
    }
    out[ooff] = x[xoff];
  }
}

template <class E>
__global__ void gather_kernel(const E* __restrict__ x, E* __restrict__ out, const int64_t* __restrict__ index,
                              StridedArray xs, StridedArray is, StridedArray os, int dim, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    int64_t rem = i, xoff = 0, ioff = 0, ooff = 0;
    for (int d = is.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % is.sizes[d];
      rem /= is.sizes[d];
      ioff += c * is.strides[d];
      ooff += c * os.strides[d];
      if (d != dim) xoff += c * xs.strides[d];
    }
    out[ooff] = x[xoff + index[ioff] * xs.strides[dim]];
  }
}

// --- atomic += for every dtype -----------------------------------------------------

// Adds to the 1- or 2-byte element at p inside its aligned 32-bit word.
template <class T, class Add>
__device__ inline void atomic_update_narrow(T* p, Add add) {
  static_assert(sizeof(T) == 1 || sizeof(T) == 2, "narrow atomics are for 8- and 16-bit types");
  const uintptr_t addr = reinterpret_cast<uintptr_t>(p);
  unsigned int* word = reinterpret_cast<unsigned int*>(addr & ~uintptr_t{3});
  const unsigned shift = static_cast<unsigned>(addr & 3u) * 8u;
  const unsigned mask = (sizeof(T) == 1 ? 0xffu : 0xffffu) << shift;
  unsigned old = *word, assumed;
  do {
    assumed = old;
    T current;
    const auto bits = static_cast<std::conditional_t<sizeof(T) == 1, uint8_t, uint16_t>>((assumed & mask) >> shift);
    memcpy(&current, &bits, sizeof(T));
    const T updated = add(current);
    std::conditional_t<sizeof(T) == 1, uint8_t, uint16_t> new_bits;
    memcpy(&new_bits, &updated, sizeof(T));
    const unsigned next = (assumed & ~mask) | (static_cast<unsigned>(new_bits) << shift);
    old = atomicCAS(word, assumed, next);
  } while (old != assumed);
}

template <class T>
__device__ inline void atomic_add(T* p, T v) {
  if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, int32_t>) {
    atomicAdd(p, v);
  } else if constexpr (std::is_same_v<T, int64_t>) {
    // Two's complement: unsigned addition wraps to the same bits.
    atomicAdd(reinterpret_cast<unsigned long long*>(p), static_cast<unsigned long long>(v));
  } else if constexpr (std::is_same_v<T, bool>) {
    if (v) atomic_update_narrow(p, [](bool) { return true; });
  } else {
    // uint8_t (wraps), Half, BFloat16: add in opmath, round once.
    atomic_update_narrow(p, [v](T cur) { return static_cast<T>(static_cast<opmath_t<T>>(cur) + static_cast<opmath_t<T>>(v)); });
  }
}

template <class T>
__global__ void scatter_add_kernel(T* out, const T* __restrict__ src, const int64_t* __restrict__ index,
                                   StridedArray os, StridedArray is, StridedArray ss, int dim, int64_t total) {
  for (int64_t i = global_thread(); i < total; i += grid_threads()) {
    int64_t rem = i, ioff = 0, soff = 0, ooff = 0;
    for (int d = is.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % is.sizes[d];
      rem /= is.sizes[d];
      ioff += c * is.strides[d];
      soff += c * ss.strides[d];
      if (d != dim) ooff += c * os.strides[d];
    }
    atomic_add(out + ooff + index[ioff] * os.strides[dim], src[soff]);
  }
}

// Calls fn(E{}) with an unsigned type of the element size of dtype.
template <class Fn>
void visit_element_size(DType dtype, Fn&& fn) {
  switch (element_size(dtype)) {
    case 1: return fn(uint8_t{});
    case 2: return fn(uint16_t{});
    case 4: return fn(uint32_t{});
    default: return fn(uint64_t{});
  }
}

}  // namespace

void launch_index_select(const StridedArray& x, int dim, const int64_t* index, int64_t index_stride,
                         const StridedArray& out, cudaStream_t stream) {
  KILN_NVTX_RANGE("index_select");
  const int64_t total = numel(out);
  if (total == 0) return;
  visit_element_size(x.dtype, [&](auto tag) {
    using E = decltype(tag);
    index_select_kernel<E><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        static_cast<const E*>(x.data), static_cast<E*>(out.data), index, index_stride, x, out, dim, total);
    KILN_CHECK_LAUNCH("index_select", stream);
  });
}

void launch_gather(const StridedArray& x, int dim, const StridedArray& index, const StridedArray& out,
                   cudaStream_t stream) {
  KILN_NVTX_RANGE("gather");
  const int64_t total = numel(index);
  if (total == 0) return;
  visit_element_size(x.dtype, [&](auto tag) {
    using E = decltype(tag);
    gather_kernel<E><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        static_cast<const E*>(x.data), static_cast<E*>(out.data), static_cast<const int64_t*>(index.data), x, index,
        out, dim, total);
    KILN_CHECK_LAUNCH("gather", stream);
  });
}

void launch_scatter_add(const StridedArray& out, int dim, const StridedArray& index, const StridedArray& src,
                        cudaStream_t stream) {
  KILN_NVTX_RANGE("scatter_add");
  const int64_t total = numel(index);
  if (total == 0) return;
  visit_dtype(out.dtype, [&](auto tag) {
    using T = decltype(tag);
    scatter_add_kernel<T><<<grid_for(total, kThreads), kThreads, 0, stream>>>(
        static_cast<T*>(out.data), static_cast<const T*>(src.data), static_cast<const int64_t*>(index.data), out,
        index, src, dim, total);
    KILN_CHECK_LAUNCH("scatter_add", stream);
  });
}

}  // namespace kiln::kernels
