// The generic elementwise engine: out = f(in_0, ..., in_{K-1}) over one
// shape, computing in opmath (f32 for f16/bf16) and storing with from_op,
// exactly like the CPU's map_elements, so both backends share the functors
// of kernels/functors/. Used by copy.cu and elementwise.cu.
//
// Two paths:
//  - contiguous: every operand 1-D with stride 1 (callers coalesce dims
//    first). Each thread moves kV elements per operand as one aligned vector
//    (16 bytes for the widest type) when every pointer is aligned, else
//    kV = 1; the n % kV tail is done element by element.
//  - strided: any sizes/strides (broadcast stride 0 included) up to 8 dims;
//    one element per thread, offsets from the linear index by div/mod.
// Both are grid-stride loops with 64-bit indices.
#pragma once
#include <cstdint>
#include <utility>

#include "common/launch.cuh"
#include "common/opmath.cuh"
#include "common/strided_array.h"
#include "common/vec.cuh"

namespace kiln::kernels {

// Operand 0 is the output, 1..N-1 the inputs.
template <int N>
struct MapArgs {
  int ndim = 0;
  int64_t numel = 0;
  int64_t sizes[kMaxDims] = {};
  int64_t strides[N][kMaxDims] = {};
  char* data[N] = {};
};

template <class F, class TOut, class... TIn, size_t... I>
__device__ inline void map_one(char* const* data, const int64_t* off, const F& f, std::index_sequence<I...>) {
  reinterpret_cast<TOut*>(data[0])[off[0]] =
      from_op<TOut>(f(to_op(reinterpret_cast<const TIn*>(data[I + 1])[off[I + 1]])...));
}

template <class F, class TOut, class... TIn>
__global__ void map_strided_kernel(MapArgs<sizeof...(TIn) + 1> args, F f) {
  constexpr int N = sizeof...(TIn) + 1;
  for (int64_t i = global_thread(); i < args.numel; i += grid_threads()) {
    int64_t off[N] = {};
    int64_t rem = i;
    for (int d = args.ndim - 1; d >= 0; --d) {
      const int64_t c = rem % args.sizes[d];
      rem /= args.sizes[d];
#pragma unroll
      for (int k = 0; k < N; ++k) off[k] += c * args.strides[k][d];
    }
    map_one<F, TOut, TIn...>(args.data, off, f, std::index_sequence_for<TIn...>{});
  }
}

template <int kV, class F, class TOut, class... TIn, size_t... I>
__device__ inline void map_vector(char* const* data, int64_t base, const F& f, std::index_sequence<I...>) {
  // One 16-byte (or narrower) register buffer per input.
  alignas(16) char buf[sizeof...(TIn) > 0 ? sizeof...(TIn) : 1][16];
  ((*reinterpret_cast<Vec<TIn, kV>*>(buf[I]) = load_vec<TIn, kV>(reinterpret_cast<const TIn*>(data[I + 1]) + base)),
   ...);
  Vec<TOut, kV> o;
#pragma unroll
  for (int j = 0; j < kV; ++j) o.v[j] = from_op<TOut>(f(to_op(reinterpret_cast<const TIn*>(buf[I])[j])...));
  store_vec<TOut, kV>(reinterpret_cast<TOut*>(data[0]) + base, o);
}

template <int kV, class F, class TOut, class... TIn>
__global__ void map_contiguous_kernel(MapArgs<sizeof...(TIn) + 1> args, F f) {
  const int64_t n = args.numel, nvec = n / kV;
  for (int64_t v = global_thread(); v < nvec; v += grid_threads())
    map_vector<kV, F, TOut, TIn...>(args.data, v * kV, f, std::index_sequence_for<TIn...>{});
  // Tail: fewer than kV elements.
  const int64_t t = nvec * kV + global_thread();
  if (t < n) {
    int64_t off[sizeof...(TIn) + 1];
    for (auto& o : off) o = t;
    map_one<F, TOut, TIn...>(args.data, off, f, std::index_sequence_for<TIn...>{});
  }
}

// Builds MapArgs from out (ops[0]) and inputs, all with out's sizes.
template <int N>
MapArgs<N> make_map_args(const StridedArray* const (&ops)[N]) {
  MapArgs<N> a;
  a.ndim = ops[0]->ndim;
  a.numel = numel(*ops[0]);
  for (int d = 0; d < a.ndim; ++d) a.sizes[d] = ops[0]->sizes[d];
  for (int k = 0; k < N; ++k) {
    a.data[k] = static_cast<char*>(ops[k]->data);
    for (int d = 0; d < a.ndim; ++d) a.strides[k][d] = ops[k]->strides[d];
  }
  return a;
}

template <int N>
bool is_contiguous_1d(const MapArgs<N>& a) {
  if (a.ndim == 0) return true;
  if (a.ndim != 1) return false;
  for (int k = 0; k < N; ++k)
    if (a.strides[k][0] != 1) return false;
  return true;
}

template <class T> constexpr size_t max_size_of() { return sizeof(T); }
template <class T, class U, class... R> constexpr size_t max_size_of() {
  return sizeof(T) > max_size_of<U, R...>() ? sizeof(T) : max_size_of<U, R...>();
}

// Launches out = f(inputs...) on `stream`. `name` labels errors.
template <class TOut, class... TIn, class F>
void launch_map(const char* name, const StridedArray& out, const StridedArray* const (&ins)[sizeof...(TIn)], F f,
                cudaStream_t stream) {
  constexpr int N = sizeof...(TIn) + 1;
  const StridedArray* ops[N];
  ops[0] = &out;
  for (int k = 1; k < N; ++k) ops[k] = ins[k - 1];
  const MapArgs<N> args = make_map_args<N>(ops);
  if (args.numel == 0) return;
  if (is_contiguous_1d(args)) {
    constexpr int kV = static_cast<int>(16 / max_size_of<TOut, TIn...>());
    bool aligned = is_vec_aligned<TOut, kV>(args.data[0]);
    int k = 1;
    ((aligned = aligned && is_vec_aligned<TIn, kV>(args.data[k++])), ...);
    if (aligned && kV > 1) {
      map_contiguous_kernel<kV, F, TOut, TIn...><<<grid_for(args.numel / kV + 1, kThreads), kThreads, 0, stream>>>(args, f);
    } else {
      map_contiguous_kernel<1, F, TOut, TIn...><<<grid_for(args.numel, kThreads), kThreads, 0, stream>>>(args, f);
    }
  } else {
    map_strided_kernel<F, TOut, TIn...><<<grid_for(args.numel, kThreads), kThreads, 0, stream>>>(args, f);
  }
  KILN_CHECK_LAUNCH(name, stream);
}

}  // namespace kiln::kernels
