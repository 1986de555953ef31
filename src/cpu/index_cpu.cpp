// CPU index_select, gather, scatter_add. Index values were range-checked by
// the op layer.
#include "cpu/cpu_backend.h"
#include "cpu/loops.h"

namespace kiln::cpu {

namespace {
// Calls fn(linear index, coordinate offsets for each tensor) over `shape`.
template <size_t N, class Fn>
void for_each_index(const Shape& shape, const std::array<const Shape*, N>& strides, int64_t skip_dim, bool parallel,
                    Fn&& fn) {
  int64_t total = 1;
  for (int64_t s : shape) total *= s;
  const int64_t nd = static_cast<int64_t>(shape.size());
  auto body = [&](int64_t i) {
    std::array<int64_t, N> off{};
    int64_t coord_skip = 0, rem = i;
    for (int64_t d = nd - 1; d >= 0; --d) {
      const int64_t c = rem % shape[d];
      rem /= shape[d];
      if (d == skip_dim) coord_skip = c;
      for (size_t k = 0; k < N; ++k)
        if (d != skip_dim || k == 0) off[k] += c * (*strides[k])[d];
    }
    fn(off, coord_skip);
  };
  if (parallel && total >= kParallelGrain) {
#pragma omp parallel for schedule(static)
    for (int64_t i = 0; i < total; ++i) body(i);
  } else {
    for (int64_t i = 0; i < total; ++i) body(i);
  }
}
}  // namespace

void CpuBackend::index_select(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  const int64_t* idx = index.data_ptr<int64_t>();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.raw_data_ptr());
    T* op = static_cast<T*>(out.raw_data_ptr());
    const Shape& xs = x.strides();
    const Shape& os = out.strides();
    // Offsets: [0] into out (all dims), [1] into x (all dims but `dim`).
    for_each_index<2>(out.sizes(), {&os, &xs}, dim, true, [&](const std::array<int64_t, 2>& off, int64_t c) {
      op[off[0]] = xp[off[1] + idx[c] * xs[dim]];
    });
  });
}

void CpuBackend::gather(const Tensor& x, int64_t dim, const Tensor& index, Tensor& out) {
  const int64_t* idx = index.data_ptr<int64_t>();
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* xp = static_cast<const T*>(x.raw_data_ptr());
    T* op = static_cast<T*>(out.raw_data_ptr());
    const Shape& xs = x.strides();
    const Shape& is = index.strides();
    const Shape& os = out.strides();
    const int64_t nd = index.dim();
    const Shape& shape = index.sizes();
    int64_t total = index.numel();
#pragma omp parallel for schedule(static) if (total >= kParallelGrain)
    for (int64_t i = 0; i < total; ++i) {
      int64_t rem = i, ioff = 0, ooff = 0, xoff = 0;
      for (int64_t d = nd - 1; d >= 0; --d) {
        const int64_t c = rem % shape[d];
        rem /= shape[d];
        ioff += c * is[d];
        ooff += c * os[d];
        if (d != dim) xoff += c * xs[d];
      }
      op[ooff] = xp[xoff + idx[ioff] * xs[dim]];
    }
  });
}

void CpuBackend::scatter_add(Tensor& out, int64_t dim, const Tensor& index, const Tensor& src) {
  const int64_t* idx = index.data_ptr<int64_t>();
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T* sp = static_cast<const T*>(src.raw_data_ptr());
    T* op = static_cast<T*>(out.raw_data_ptr());
    const Shape& os = out.strides();
    const Shape& is = index.strides();
    const Shape& ss = src.strides();
    const Shape& shape = index.sizes();
    const int64_t nd = index.dim();
    // Serial: several source elements may land on one output element.
    for (int64_t i = 0; i < index.numel(); ++i) {
      int64_t rem = i, ioff = 0, soff = 0, ooff = 0;
      for (int64_t d = nd - 1; d >= 0; --d) {
        const int64_t c = rem % shape[d];
        rem /= shape[d];
        ioff += c * is[d];
        soff += c * ss[d];
        if (d != dim) ooff += c * os[d];
      }
      T& dst = op[ooff + idx[ioff] * os[dim]];
      dst = static_cast<T>(static_cast<opmath_t<T>>(dst) + static_cast<opmath_t<T>>(sp[soff]));
    }
  });
}

}  // namespace kiln::cpu
