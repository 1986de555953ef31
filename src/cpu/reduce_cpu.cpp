// CPU reductions. The reduced dims are moved innermost, so each output
// element reduces one (possibly strided) block; outputs are spread over
// kiln's pool, or, for a few large outputs, each block is split across its
// threads. Leading dims of a contiguous tensor go row by row instead
// (reduce_leading_dims).
#include <algorithm>
#include <cmath>
#include <limits>

#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "cpu/parallel.h"
#include "functors/reduce.h"

namespace kiln::cpu {

namespace {

// Accumulate floats in double (the f64 reference agrees to ~1e-7 even for
// large sums), integers in int64.
template <class T> struct acc { using type = std::conditional_t<std::is_floating_point_v<opmath_t<T>>, double, int64_t>; };
template <> struct acc<bool> { using type = int64_t; };

// The reduced block of one output: sizes and strides (elements), innermost last.
struct Block {
  std::vector<int64_t> sizes, strides;
  int64_t numel = 1;
};

Block reduced_block(const Tensor& x, const Shape& dims) {
  Block b;
  for (int64_t d : dims) {
    if (x.size(d) == 1) continue;
    b.sizes.push_back(x.size(d));
    b.strides.push_back(x.stride(d));
  }
  // Innermost = smallest stride gives the best memory order.
  std::vector<size_t> order(b.sizes.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t p, size_t q) { return b.strides[p] > b.strides[q]; });
  Block s;
  for (size_t i : order) {
    s.sizes.push_back(b.sizes[i]);
    s.strides.push_back(b.strides[i]);
  }
  // Merge neighbours that are contiguous with each other.
  for (size_t i = s.sizes.size(); i-- > 1;) {
    if (s.strides[i - 1] == s.strides[i] * s.sizes[i]) {
      s.sizes[i] *= s.sizes[i - 1];
      s.sizes.erase(s.sizes.begin() + (i - 1));
      s.strides.erase(s.strides.begin() + (i - 1));
    }
  }
  for (int64_t v : s.sizes) s.numel *= v;
  return s;
}

// Visits elements [begin, end) of a block (in block order) starting at p.
template <class T, class Visit>
void visit_block(const T* p, const Block& b, int64_t begin, int64_t end, Visit&& visit) {
  if (b.sizes.empty()) {
    if (begin < end) visit(p, 1, 1);
    return;
  }
  const int64_t inner = b.sizes.back(), inner_stride = b.strides.back();
  const int nd = static_cast<int>(b.sizes.size());
  int64_t i = begin;
  while (i < end) {
    int64_t row = i / inner, col = i % inner;
    const T* q = p + col * inner_stride;
    for (int d = nd - 2; d >= 0; --d) {
      q += (row % b.sizes[d]) * b.strides[d];
      row /= b.sizes[d];
    }
    const int64_t n = std::min(inner - col, end - i);
    visit(q, n, inner_stride);
    i += n;
  }
}

// One reduction (a functor of kernels/functors/reduce.h) over stored T,
// accumulating in A: sums widen (acc<T>), max/min are exact in opmath.
template <class F, class T>
struct RowReduce {
  using A = std::conditional_t<F::kWidens, typename acc<T>::type, opmath_t<T>>;
  F f;
  A init() const { return F::template identity<opmath_t<T>, A>(); }
  void row(A& acc, const T* q, int64_t n, int64_t s) const {
    // Four partial results let the compiler overlap the combines.
    A a0 = init(), a1 = init(), a2 = init(), a3 = init();
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) {
      a0 = f(a0, static_cast<A>(static_cast<opmath_t<T>>(q[(i + 0) * s])));
      a1 = f(a1, static_cast<A>(static_cast<opmath_t<T>>(q[(i + 1) * s])));
      a2 = f(a2, static_cast<A>(static_cast<opmath_t<T>>(q[(i + 2) * s])));
      a3 = f(a3, static_cast<A>(static_cast<opmath_t<T>>(q[(i + 3) * s])));
    }
    for (; i < n; ++i) a0 = f(a0, static_cast<A>(static_cast<opmath_t<T>>(q[i * s])));
    acc = f(acc, f(f(a0, a1), f(a2, a3)));
  }
  void combine(A& acc, A other) const { acc = f(acc, other); }
};

template <class T, class Op>
void run_reduce(const Tensor& x, const Shape& dims, Tensor& out, const Op& op) {
  using A = decltype(op.init());
  const Block block = reduced_block(x, dims);
  // Output index -> input base offset: walk the kept dims.
  Shape kept_sizes, kept_x_strides, kept_out_strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) != dims.end()) continue;
    kept_sizes.push_back(x.size(d));
    kept_x_strides.push_back(x.stride(d));
    kept_out_strides.push_back(out.stride(d));
  }
  const int64_t n_out = out.numel();
  const T* xp = static_cast<const T*>(x.raw_data_ptr());
  T* op_ = static_cast<T*>(out.raw_data_ptr());
  auto offsets = [&](int64_t o, int64_t& xoff, int64_t& ooff) {
    xoff = 0;
    ooff = 0;
    for (int64_t d = static_cast<int64_t>(kept_sizes.size()) - 1; d >= 0; --d) {
      const int64_t idx = o % kept_sizes[d];
      o /= kept_sizes[d];
      xoff += idx * kept_x_strides[d];
      ooff += idx * kept_out_strides[d];
    }
  };
  auto reduce_range = [&](const T* base, int64_t begin, int64_t end) {
    A acc = op.init();
    visit_block(base, block, begin, end, [&](const T* q, int64_t n, int64_t s) { op.row(acc, q, n, s); });
    return acc;
  };
  const int64_t total = n_out * block.numel;
  const int threads = pool_threads();
  if (n_out >= threads * 4 || total < kPoolGrain) {
    parallel_ranges(n_out, total, [&](int64_t o_begin, int64_t o_end) {
      for (int64_t o = o_begin; o < o_end; ++o) {
        int64_t xoff, ooff;
        offsets(o, xoff, ooff);
        op_[ooff] = static_cast<T>(reduce_range(xp + xoff, 0, block.numel));
      }
    });
    return;
  }
  // Few outputs, long blocks: split each block over the threads.
  for (int64_t o = 0; o < n_out; ++o) {
    int64_t xoff, ooff;
    offsets(o, xoff, ooff);
    std::vector<A> partial(static_cast<size_t>(threads), op.init());
    parallel_run(threads, [&](int t) {
      const int64_t chunk = (block.numel + threads - 1) / threads;
      const int64_t b = t * chunk, e = std::min(block.numel, b + chunk);
      if (b < e) partial[static_cast<size_t>(t)] = reduce_range(xp + xoff, b, e);
    });
    A acc = op.init();
    for (const A& p : partial) op.combine(acc, p);
    op_[ooff] = static_cast<T>(acc);
  }
}

// The leading dims of a contiguous tensor reduced, the trailing ones kept
// (a bias gradient: [rows, cols] summed over rows): each thread takes a
// range of columns and adds the rows into a row of accumulators, so the
// loads are contiguous and vectorise. Reducing column by column instead
// reads with a stride of `cols` elements: that was 7% of char_gpt's step.
// Returns false when the reduction does not have this shape.
template <class T, class F>
bool reduce_leading_dims(const Tensor& x, const Shape& dims, Tensor& out, const RowReduce<F, T>& op) {
  using A = typename RowReduce<F, T>::A;
  if (!x.is_contiguous() || !out.is_contiguous() || dims.empty()) return false;
  Shape sorted = dims;
  std::sort(sorted.begin(), sorted.end());
  for (size_t i = 0; i < sorted.size(); ++i)
    if (sorted[i] != static_cast<int64_t>(i)) return false;
  const int64_t k = static_cast<int64_t>(sorted.size());
  if (k >= x.dim()) return false;
  int64_t rows = 1, cols = 1;
  for (int64_t d = 0; d < x.dim(); ++d) (d < k ? rows : cols) *= x.size(d);
  if (rows < 2 || cols < 16 || out.numel() != cols) return false;
  const T* xp = static_cast<const T*>(x.raw_data_ptr());
  T* yp = static_cast<T*>(out.raw_data_ptr());
  parallel_ranges(cols, rows * cols, [&](int64_t c_begin, int64_t c_end) {
    constexpr int64_t kWidth = 256;
    A acc[kWidth];
    for (int64_t c0 = c_begin; c0 < c_end; c0 += kWidth) {
      const int64_t w = std::min(kWidth, c_end - c0);
      for (int64_t c = 0; c < w; ++c) acc[c] = op.init();
      for (int64_t r = 0; r < rows; ++r) {
        const T* row = xp + r * cols + c0;
        for (int64_t c = 0; c < w; ++c) acc[c] = op.f(acc[c], static_cast<A>(static_cast<opmath_t<T>>(row[c])));
      }
      for (int64_t c = 0; c < w; ++c) yp[c0 + c] = static_cast<T>(acc[c]);
    }
  });
  return true;
}

}  // namespace

void CpuBackend::reduce(detail::ReduceOp op, const Tensor& x, const Shape& dims, Tensor& out) {
  functors::visit_reduce(op, [&](auto f) {
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      const RowReduce<decltype(f), T> op{f};
      if (!reduce_leading_dims<T>(x, dims, out, op)) run_reduce<T>(x, dims, out, op);
    });
  });
}

void CpuBackend::arg_reduce(detail::ArgReduceOp op, const Tensor& x, int64_t dim, Tensor& out) {
  functors::visit_arg_reduce(op, [&](auto f) {
    visit_dtype(x.dtype(), [&](auto tag) {
      using T = decltype(tag);
      using V = opmath_t<T>;
      using VI = functors::ValueIndex<V>;
      const int64_t n = x.size(dim), s = x.stride(dim);
      Shape kept_sizes, kx, ko;
      for (int64_t d = 0; d < x.dim(); ++d) {
        if (d == dim) continue;
        kept_sizes.push_back(x.size(d));
        kx.push_back(x.stride(d));
        ko.push_back(out.stride(d));
      }
      const T* xp = static_cast<const T*>(x.raw_data_ptr());
      int64_t* outp = static_cast<int64_t*>(out.raw_data_ptr());
      const int64_t n_out = out.numel();
#pragma omp parallel for schedule(static) if (n_out * n >= kParallelGrain)
      for (int64_t o = 0; o < n_out; ++o) {
        int64_t rem = o, xoff = 0, ooff = 0;
        for (int64_t d = static_cast<int64_t>(kept_sizes.size()) - 1; d >= 0; --d) {
          const int64_t idx = rem % kept_sizes[d];
          rem /= kept_sizes[d];
          xoff += idx * kx[d];
          ooff += idx * ko[d];
        }
        VI best = decltype(f)::template identity<V>();
        for (int64_t i = 0; i < n; ++i) {
          best = f(best, VI{static_cast<V>(xp[xoff + i * s]), i});
          if constexpr (std::is_floating_point_v<V>) {
            if (functors::isnan_(best.v)) break;  // nothing beats the first NaN
          }
        }
        outp[ooff] = best.i < 0 ? 0 : best.i;
      }
    });
  });
}

}  // namespace kiln::cpu
