// Copies with a dtype cast, fills and arange.
//
// copy:   dst[i] = cast(src[i]); dst and src share sizes (up to 8 dims, the
//         caller coalesces), any strides, src may broadcast (stride 0). The
//         cast goes through opmath like the CPU: to bool is "!= 0", f16/bf16
//         round to nearest even via kiln::Half/BFloat16. Same dtype and both
//         contiguous: one cudaMemcpyAsync. Otherwise the map engine
//         (common/map.cuh): 16-byte vector path when contiguous, index math
//         when strided. Overwrites dst.
// fill:   every element of out (any strides) = one value given as bytes.
// arange: out[i] = convert<T>(start + step * i) computed in f64 without FMA
//         contraction, as the CPU does, so both give the same values
//         (kiln/core/convert.h: saturating for integer outputs).
#include <cstring>

#include "common/check.h"
#include "common/launch.cuh"
#include "common/map.cuh"
#include "common/nvtx.h"
#include "copy.h"

namespace kiln::kernels {

namespace {

struct Identity {
  template <class V> __device__ V operator()(V v) const { return v; }
};

template <class T>
__global__ void fill_contiguous_kernel(T* out, int64_t n, T value) {
  for (int64_t i = global_thread(); i < n; i += grid_threads()) out[i] = value;
}

template <class T>
__global__ void fill_strided_kernel(MapArgs<1> a, T value) {
  for (int64_t i = global_thread(); i < a.numel; i += grid_threads()) {
    int64_t off = 0, rem = i;
    for (int d = a.ndim - 1; d >= 0; --d) {
      off += (rem % a.sizes[d]) * a.strides[0][d];
      rem /= a.sizes[d];
    }
    reinterpret_cast<T*>(a.data[0])[off] = value;
  }
}

template <class T>
__global__ void arange_kernel(T* out, int64_t n, double start, double step) {
  for (int64_t i = global_thread(); i < n; i += grid_threads())
    out[i] = convert<T>(__dadd_rn(start, __dmul_rn(step, static_cast<double>(i))));
}

bool contiguous_1d(const StridedArray& a) { return a.ndim == 0 || (a.ndim == 1 && a.strides[0] == 1); }

}  // namespace

void launch_copy(const StridedArray& src, const StridedArray& dst, cudaStream_t stream) {
  KILN_NVTX_RANGE("copy");
  const int64_t n = numel(dst);
  if (n == 0) return;
  if (src.dtype == dst.dtype && contiguous_1d(src) && contiguous_1d(dst)) {
    KILN_CUDA_CHECK(cudaMemcpyAsync(dst.data, src.data, static_cast<size_t>(n) * element_size(dst.dtype),
                                      cudaMemcpyDeviceToDevice, stream));
    if (sync_debug_enabled()) KILN_CUDA_CHECK(cudaStreamSynchronize(stream));
    return;
  }
  if (src.dtype == dst.dtype && is_storage_only(dst.dtype)) {
    // A storage-only dtype (no kernels of its own) copies its bits as the
    // unsigned integer of its size; converting it on a GPU is not supported.
    const StridedArray* ins[] = {&src};
    switch (element_size(dst.dtype)) {
      case 1: launch_map<uint8_t, uint8_t>("copy", dst, ins, Identity{}, stream); break;
      case 2: launch_map<uint16_t, uint16_t>("copy", dst, ins, Identity{}, stream); break;
      case 4: launch_map<uint32_t, uint32_t>("copy", dst, ins, Identity{}, stream); break;
      default: launch_map<uint64_t, uint64_t>("copy", dst, ins, Identity{}, stream); break;
    }
    return;
  }
  visit_dtype(dst.dtype, [&](auto out_tag) {
    using TOut = decltype(out_tag);
    visit_dtype(src.dtype, [&](auto in_tag) {
      using TIn = decltype(in_tag);
      const StridedArray* ins[] = {&src};
      launch_map<TOut, TIn>("copy", dst, ins, Identity{}, stream);
    });
  });
}

void launch_fill(const StridedArray& out, const void* value, cudaStream_t stream) {
  KILN_NVTX_RANGE("fill");
  const int64_t n = numel(out);
  if (n == 0) return;
  auto fill_as = [&](auto tag) {
    using T = decltype(tag);
    T v;
    std::memcpy(&v, value, sizeof(T));
    if (contiguous_1d(out)) {
      fill_contiguous_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out.data), n, v);
    } else {
      const StridedArray* ops[] = {&out};
      fill_strided_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(make_map_args<1>(ops), v);
    }
    KILN_CHECK_LAUNCH("fill", stream);
  };
  if (is_storage_only(out.dtype)) {
    // `value` holds the element's bits (converted on the host): store them
    // as the unsigned integer of the element's size, as launch_copy moves them.
    switch (element_size(out.dtype)) {
      case 1: fill_as(uint8_t{}); break;
      case 2: fill_as(uint16_t{}); break;
      case 4: fill_as(uint32_t{}); break;
      default: fill_as(uint64_t{}); break;
    }
    return;
  }
  visit_dtype(out.dtype, fill_as);
}

void launch_arange(void* out, DType dtype, int64_t n, double start, double step, cudaStream_t stream) {
  KILN_NVTX_RANGE("arange");
  if (n == 0) return;
  visit_dtype(dtype, [&](auto tag) {
    using T = decltype(tag);
    arange_kernel<T><<<grid_for(n, kThreads), kThreads, 0, stream>>>(static_cast<T*>(out), n, start, step);
    KILN_CHECK_LAUNCH("arange", stream);
  });
}

}  // namespace kiln::kernels
