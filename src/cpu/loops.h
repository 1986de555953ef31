// Strided iteration for CPU kernels: N operands over one shape, dims merged
// where every operand is contiguous across them, rows handed to a callback,
// rows spread over threads (cpu/parallel.h) when the work is large enough.
#pragma once
#include <array>
#include <cstdint>
#include <tuple>
#include <utility>
#include <vector>

#include "core/tensor_impl.h"
#include "cpu/parallel.h"
#include "kiln/core/dtype.h"

namespace kiln::cpu {

// Below this many elements an OpenMP loop runs on one thread. Large on
// purpose: libgomp's threads spin at every region's barrier and afterwards,
// and on cores shared with other processes each region can stall for a
// scheduler time slice (the Fashion-MNIST CNN's step took 254 ms with 32768
// here vs 147 ms with 2M, 2 threads, load ~9). Elementwise maps (below),
// batch norm, max pooling and convolution use the blocking pool of
// cpu/parallel.h with its own, smaller grain instead.
constexpr int64_t kParallelGrain = int64_t{1} << 21;

template <class T> using opmath_t = kiln::opmath_t<T>;

template <size_t N>
struct LoopGeometry {
  std::vector<int64_t> sizes;                       // innermost last
  std::array<std::vector<int64_t>, N> strides;      // in bytes
  int64_t numel = 1;
};

// Builds the geometry of `operands` (all with shape `sizes`), merging dims.
template <size_t N>
LoopGeometry<N> make_geometry(const Shape& sizes, const std::array<const Tensor*, N>& operands) {
  LoopGeometry<N> g;
  for (size_t d = 0; d < sizes.size(); ++d) {
    if (sizes[d] == 1) continue;
    g.sizes.push_back(sizes[d]);
    for (size_t k = 0; k < N; ++k)
      g.strides[k].push_back(operands[k]->strides()[d] * static_cast<int64_t>(operands[k]->element_size()));
  }
  for (int64_t s : g.sizes) g.numel *= s;
  // Merge dim i into dim i+1 (inner) when every operand steps evenly across both.
  for (size_t i = g.sizes.size(); i-- > 1;) {
    bool mergeable = true;
    for (size_t k = 0; k < N; ++k) mergeable = mergeable && g.strides[k][i - 1] == g.strides[k][i] * g.sizes[i];
    if (!mergeable) continue;
    g.sizes[i] *= g.sizes[i - 1];
    g.sizes.erase(g.sizes.begin() + (i - 1));
    for (size_t k = 0; k < N; ++k) g.strides[k].erase(g.strides[k].begin() + (i - 1));
  }
  if (g.sizes.empty()) {
    g.sizes.push_back(1);
    for (size_t k = 0; k < N; ++k) g.strides[k].push_back(0);
  }
  return g;
}

// Calls row(ptrs, n, inner_strides) for every innermost row.
template <size_t N, class Row>
void for_each_row(const LoopGeometry<N>& g, const std::array<char*, N>& base, Row&& row) {
  const int64_t inner = g.sizes.back();
  if (inner == 0 || g.numel == 0) return;
  const int64_t rows = g.numel / inner;
  const int ndim = static_cast<int>(g.sizes.size());
  std::array<int64_t, N> inner_strides;
  for (size_t k = 0; k < N; ++k) inner_strides[k] = g.strides[k].back();
  auto run_rows = [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      std::array<char*, N> p = base;
      int64_t rem = r;
      for (int d = ndim - 2; d >= 0; --d) {
        const int64_t idx = rem % g.sizes[d];
        rem /= g.sizes[d];
        for (size_t k = 0; k < N; ++k) p[k] += idx * g.strides[k][d];
      }
      row(p, inner, inner_strides);
    }
  };
  if (rows == 1) {
    // One long row: split it across threads.
    parallel_ranges(inner, g.numel, [&](int64_t b, int64_t e) {
      std::array<char*, N> p = base;
      for (size_t k = 0; k < N; ++k) p[k] += b * inner_strides[k];
      row(p, e - b, inner_strides);
    });
    return;
  }
  parallel_ranges(rows, g.numel, run_rows);
}

template <class TOut, class... TIn, size_t N, class F, size_t... I>
inline void map_row_contiguous(TOut* o, const std::array<char*, N>& p, const std::array<int64_t, N>& s, int64_t n,
                               F& f, std::index_sequence<I...>) {
  // Operands with stride 0 (broadcast scalars along the row) are read once.
  const bool all_dense = ((s[I + 1] != 0) && ...);
  if (all_dense) {
    std::tuple<const TIn*...> in{reinterpret_cast<const TIn*>(p[I + 1])...};
    for (int64_t i = 0; i < n; ++i)
      o[i] = static_cast<TOut>(f(static_cast<opmath_t<TIn>>(std::get<I>(in)[i])...));
  } else {
    for (int64_t i = 0; i < n; ++i)
      o[i] = static_cast<TOut>(f(static_cast<opmath_t<TIn>>(*reinterpret_cast<const TIn*>(p[I + 1] + i * s[I + 1]))...));
  }
}

template <class TOut, class... TIn, size_t N, class F, size_t... I>
inline void map_row_strided(const std::array<char*, N>& p, const std::array<int64_t, N>& s, int64_t n, F& f,
                            std::index_sequence<I...>) {
  for (int64_t i = 0; i < n; ++i) {
    *reinterpret_cast<TOut*>(p[0] + i * s[0]) =
        static_cast<TOut>(f(static_cast<opmath_t<TIn>>(*reinterpret_cast<const TIn*>(p[I + 1] + i * s[I + 1]))...));
  }
}

// Elementwise map: out[i] = f(in0[i], ...), computing in opmath.
template <class TOut, class... TIn, class F, size_t N = sizeof...(TIn) + 1>
void map_elements(const Tensor& out, std::array<const Tensor*, N - 1> ins, F f) {
  std::array<const Tensor*, N> ops;
  ops[0] = &out;
  for (size_t k = 0; k + 1 < N; ++k) ops[k + 1] = ins[k];
  auto g = make_geometry<N>(out.sizes(), ops);
  std::array<char*, N> base;
  for (size_t k = 0; k < N; ++k) base[k] = static_cast<char*>(ops[k]->raw_data_ptr());
  for_each_row<N>(g, base, [&](const std::array<char*, N>& p, int64_t n, const std::array<int64_t, N>& s) {
    // Contiguous rows get a plain indexed loop the compiler can vectorise.
    bool contiguous = s[0] == static_cast<int64_t>(sizeof(TOut));
    size_t k = 1;
    ((contiguous = contiguous && (s[k] == static_cast<int64_t>(sizeof(TIn)) || s[k] == 0), ++k), ...);
    TOut* o = reinterpret_cast<TOut*>(p[0]);
    if (contiguous) {
      map_row_contiguous<TOut, TIn...>(o, p, s, n, f, std::index_sequence_for<TIn...>{});
    } else {
      map_row_strided<TOut, TIn...>(p, s, n, f, std::index_sequence_for<TIn...>{});
    }
  });
}

}  // namespace kiln::cpu
