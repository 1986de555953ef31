// Reductions: sum / max / min over any set of dims, argmax / argmin over one.
//
// Shapes: x up to 8 dims, any strides; out has x's ndim with size 1 in each
// reduced dim, any strides; arg_reduce writes int64 indices. Precision:
// sums accumulate f16/bf16/f32 in f32, f64 in f64, integers and bool in
// int64 (the CPU accumulates floats in f64, so f32 sums agree to ~1e-6
// relative, not bit for bit); max/min are exact. NaN: max/min/argmax/argmin
// return NaN (its first index) as the CPU does. Overwrites out.
//
// Algorithm: the problem is viewed as n_out outputs x n_red reduced
// elements. Kept dims (offsets of x and out) and reduced dims (offsets of x,
// ordered by stride, contiguous neighbours merged) are precomputed on the host.
//  - A group of `tpo` threads reduces one output: tpo = 256 (whole block,
//    shared-memory block reduction) for long rows, a power of two <= 32
//    (sub-warp shuffle butterfly) for short rows, and 1 when the reduced dims
//    are strided and the outputs are contiguous (column sums: neighbouring
//    threads read neighbouring addresses).
//  - When there are too few outputs to fill the GPU, the reduced range is
//    split over gridDim.y blocks; each writes a partial to a workspace and a
//    second kernel combines the partials in a fixed order (two-pass, so the
//    result is deterministic; no atomics).
#include <algorithm>
#include <limits>
#include <type_traits>

#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/opmath.cuh"
#include "common/reduce.cuh"
#include "functors/reduce.h"
#include "reduce.h"

namespace kiln::kernels {

namespace {

struct ReducePlan {
  int kept_ndim = 0;
  int64_t kept_sizes[kMaxDims] = {}, kept_x[kMaxDims] = {}, kept_out[kMaxDims] = {};
  int red_ndim = 0;
  int64_t red_sizes[kMaxDims] = {}, red_x[kMaxDims] = {};
  int64_t n_out = 1, n_red = 1;
  int tpo = 1;         // threads per output (1..32 or kThreads)
  int splits = 1;      // blocks sharing one output's reduced range
  int64_t chunk = 1;   // reduced elements per split
};

int next_pow2(int64_t v) {
  int p = 1;
  while (p < v && p < 32) p *= 2;
  return p;
}

// dims_mask bit d set: dim d is reduced. out may be null (workspace query).
ReducePlan plan_reduce(const StridedArray& x, uint32_t dims_mask, const StridedArray* out) {
  ReducePlan p;
  for (int d = 0; d < x.ndim; ++d) {
    if (x.sizes[d] == 1) continue;
    if (dims_mask & (1u << d)) {
      p.red_sizes[p.red_ndim] = x.sizes[d];
      p.red_x[p.red_ndim++] = x.strides[d];
      p.n_red *= x.sizes[d];
    } else {
      p.kept_sizes[p.kept_ndim] = x.sizes[d];
      p.kept_x[p.kept_ndim] = x.strides[d];
      p.kept_out[p.kept_ndim++] = out ? out->strides[d] : 0;
      p.n_out *= x.sizes[d];
    }
  }
  if (p.n_out == 0 || p.n_red == 0) return p;
  // Kept dims: merge an outer dim into its inner neighbour when both x and out step evenly across them.
  for (int i = p.kept_ndim - 1; i >= 1; --i) {
    if (p.kept_x[i - 1] == p.kept_x[i] * p.kept_sizes[i] && p.kept_out[i - 1] == p.kept_out[i] * p.kept_sizes[i]) {
      p.kept_sizes[i] *= p.kept_sizes[i - 1];
      for (int j = i - 1; j + 1 < p.kept_ndim; ++j) {
        p.kept_sizes[j] = p.kept_sizes[j + 1];
        p.kept_x[j] = p.kept_x[j + 1];
        p.kept_out[j] = p.kept_out[j + 1];
      }
      --p.kept_ndim;
    }
  }
  // Reduced dims: the order does not matter for the result, so sort by
  // stride (largest first, smallest innermost) and merge neighbours.
  for (int i = 1; i < p.red_ndim; ++i)
    for (int j = i; j > 0 && p.red_x[j - 1] < p.red_x[j]; --j) {
      std::swap(p.red_x[j - 1], p.red_x[j]);
      std::swap(p.red_sizes[j - 1], p.red_sizes[j]);
    }
  for (int i = p.red_ndim - 1; i >= 1; --i) {
    if (p.red_x[i - 1] == p.red_x[i] * p.red_sizes[i]) {
      p.red_sizes[i] *= p.red_sizes[i - 1];
      for (int j = i - 1; j + 1 < p.red_ndim; ++j) {
        p.red_sizes[j] = p.red_sizes[j + 1];
        p.red_x[j] = p.red_x[j + 1];
      }
      --p.red_ndim;
    }
  }
  const bool red_inner_contiguous = p.red_ndim > 0 && p.red_x[p.red_ndim - 1] == 1;
  const bool kept_inner_contiguous = p.kept_ndim > 0 && p.kept_x[p.kept_ndim - 1] == 1;
  if (p.n_red <= 1) p.tpo = 1;
  else if (!red_inner_contiguous && kept_inner_contiguous) p.tpo = 1;
  else if (p.n_red >= 1024) p.tpo = kThreads;
  else p.tpo = next_pow2(p.n_red);
  const int64_t blocks_x = ceil_div(p.n_out, kThreads / p.tpo);
  const int64_t target_blocks = 4 * static_cast<int64_t>(sm_count());
  const int64_t min_chunk = std::max<int64_t>(16, static_cast<int64_t>(p.tpo) * 8);
  int64_t splits = 1;
  if (blocks_x < target_blocks) splits = std::min({ceil_div(target_blocks, blocks_x), ceil_div(p.n_red, min_chunk),
                                                   int64_t{1024}});
  splits = std::max<int64_t>(splits, 1);
  p.chunk = ceil_div(p.n_red, splits);
  p.splits = static_cast<int>(ceil_div(p.n_red, p.chunk));
  return p;
}

// --- reduction operators: identity, load, combine (operator()), finish ----------
// Thin adapters around the functors of kernels/functors/reduce.h (shared
// with the CPU backend) that fix the accumulator type for the GPU.

// Values narrower than 4 bytes travel widened to int32 (shuffles move words).
template <class V> using wide_t = std::conditional_t<(sizeof(V) < 4), int32_t, V>;

template <class F, class T>
struct ReduceAdapter {
  using A = std::conditional_t<F::kWidens, acc_t<T>, wide_t<opmath_t<T>>>;
  using Out = T;
  F f;
  __device__ A identity() const { return F::template identity<opmath_t<T>, A>(); }
  __device__ A load(T v, int64_t) const { return static_cast<A>(to_op(v)); }
  __device__ A operator()(A a, A b) const { return f(a, b); }
  __device__ Out finish(A a) const { return static_cast<Out>(static_cast<opmath_t<T>>(a)); }
};

template <class F, class T>
struct ArgAdapter {
  using V = wide_t<opmath_t<T>>;
  using A = functors::ValueIndex<V>;
  using Out = int64_t;
  F f;
  __device__ A identity() const { return F::template identity<V>(); }
  __device__ A load(T v, int64_t r) const { return A{static_cast<V>(to_op(v)), r}; }
  __device__ A operator()(A a, A b) const { return f(a, b); }
  __device__ Out finish(A a) const { return a.i < 0 ? 0 : a.i; }
};

// --- kernels ----------------------------------------------------------------------

__device__ inline void kept_offsets(const ReducePlan& p, int64_t o, int64_t& xoff, int64_t& ooff) {
  xoff = 0;
  ooff = 0;
  for (int d = p.kept_ndim - 1; d >= 0; --d) {
    const int64_t c = o % p.kept_sizes[d];
    o /= p.kept_sizes[d];
    xoff += c * p.kept_x[d];
    ooff += c * p.kept_out[d];
  }
}

__device__ inline int64_t reduced_offset(const ReducePlan& p, int64_t r) {
  if (p.red_ndim == 1) return r * p.red_x[0];
  int64_t off = 0;
  for (int d = p.red_ndim - 1; d >= 0; --d) {
    off += (r % p.red_sizes[d]) * p.red_x[d];
    r /= p.red_sizes[d];
  }
  return off;
}

// Block: kThreads threads = (kThreads / tpo) outputs x tpo lanes. grid = (output blocks, splits).
template <class Op, class T>
__global__ void reduce_kernel(const T* __restrict__ x, typename Op::Out* __restrict__ out,
                              typename Op::A* __restrict__ workspace, ReducePlan p, Op op) {
  using A = typename Op::A;
  const int lane = threadIdx.x % p.tpo, slot = threadIdx.x / p.tpo;
  const int64_t o = static_cast<int64_t>(blockIdx.x) * (blockDim.x / p.tpo) + slot;
  const int split = blockIdx.y;
  A acc = op.identity();
  int64_t xoff = 0, ooff = 0;
  if (o < p.n_out) {
    kept_offsets(p, o, xoff, ooff);
    const int64_t begin = split * p.chunk, end = min(p.n_red, begin + p.chunk);
#pragma unroll 4
    for (int64_t r = begin + lane; r < end; r += p.tpo) acc = op(acc, op.load(x[xoff + reduced_offset(p, r)], r));
  }
  // Every thread of the block (or warp) takes part in the combine, in range or not.
  if (p.tpo == static_cast<int>(blockDim.x)) acc = block_allreduce(acc, op.identity(), op);
  else if (p.tpo > 1) acc = group_allreduce(acc, p.tpo, op);
  if (o < p.n_out && lane == 0) {
    if (p.splits == 1) out[ooff] = op.finish(acc);
    else workspace[o * p.splits + split] = acc;
  }
}

// Combines each output's partials in split order.
template <class Op>
__global__ void reduce_finalize_kernel(const typename Op::A* __restrict__ workspace, typename Op::Out* __restrict__ out,
                                       ReducePlan p, Op op) {
  for (int64_t o = global_thread(); o < p.n_out; o += grid_threads()) {
    typename Op::A acc = op.identity();
    for (int s = 0; s < p.splits; ++s) acc = op(acc, workspace[o * p.splits + s]);
    int64_t xoff, ooff;
    kept_offsets(p, o, xoff, ooff);
    out[ooff] = op.finish(acc);
  }
}

template <class Op, class T>
void run_reduce(const char* name, const ReducePlan& p, const T* x, typename Op::Out* out, void* workspace, Op op,
                cudaStream_t stream) {
  if (p.n_out == 0) return;
  const unsigned blocks_x = static_cast<unsigned>(ceil_div(p.n_out, kThreads / p.tpo));
  auto* ws = static_cast<typename Op::A*>(workspace);
  reduce_kernel<Op, T><<<dim3(blocks_x, p.splits), kThreads, 0, stream>>>(x, out, ws, p, op);
  KILN_CHECK_LAUNCH(name, stream);
  if (p.splits > 1) {
    reduce_finalize_kernel<Op><<<grid_for(p.n_out, kThreads), kThreads, 0, stream>>>(ws, out, p, op);
    KILN_CHECK_LAUNCH(name, stream);
  }
}

template <class Fn>
void visit_reduce_op(ReduceOp op, DType dtype, Fn&& fn) {
  functors::visit_reduce(op, [&](auto f) {
    visit_dtype(dtype, [&](auto tag) { fn(ReduceAdapter<decltype(f), decltype(tag)>{f}, tag); });
  });
}

const char* reduce_name(ReduceOp op) {
  return functors::visit_reduce(op, [](auto f) { return decltype(f)::kName; });
}

}  // namespace

size_t reduce_workspace_bytes(ReduceOp op, const StridedArray& x, uint32_t dims_mask) {
  const ReducePlan p = plan_reduce(x, dims_mask, nullptr);
  if (p.splits <= 1 || p.n_out == 0) return 0;
  size_t bytes = 0;
  visit_reduce_op(op, x.dtype, [&](auto op_tag, auto) {
    using A = typename decltype(op_tag)::A;
    bytes = static_cast<size_t>(p.n_out) * p.splits * sizeof(A);
  });
  return bytes;
}

void launch_reduce(ReduceOp op, const StridedArray& x, uint32_t dims_mask, const StridedArray& out, void* workspace,
                   cudaStream_t stream) {
  KILN_NVTX_RANGE(reduce_name(op));
  if (numel(out) == 0) return;
  const ReducePlan p = plan_reduce(x, dims_mask, &out);
  if (p.n_red == 0) {
    // Empty reduction: the identity (0 for sums, as the CPU; +-inf / limits for max/min).
    visit_reduce_op(op, x.dtype, [&](auto op_tag, auto tag) {
      using T = decltype(tag);
      ReducePlan q = p;
      q.n_red = 0;
      q.tpo = 1;
      q.splits = 1;
      q.chunk = 0;
      run_reduce(reduce_name(op), q, static_cast<const T*>(x.data), static_cast<T*>(out.data), nullptr, op_tag,
                 stream);
    });
    return;
  }
  if (p.splits > 1 && workspace == nullptr)
    throw InternalError("launch_reduce: a split reduction needs the workspace of reduce_workspace_bytes()");
  visit_reduce_op(op, x.dtype, [&](auto op_tag, auto tag) {
    using T = decltype(tag);
    run_reduce(reduce_name(op), p, static_cast<const T*>(x.data), static_cast<T*>(out.data), workspace, op_tag,
               stream);
  });
}

void launch_arg_reduce(ArgReduceOp op, const StridedArray& x, int dim, const StridedArray& out,
                       cudaStream_t stream) {
  KILN_NVTX_RANGE(op == ArgReduceOp::ArgMax ? "argmax" : "argmin");
  if (numel(out) == 0) return;
  // A single reduced dim: the reduced linear index is the index along dim.
  ReducePlan p = plan_reduce(x, 1u << dim, &out);
  p.splits = 1;
  p.chunk = p.n_red;
  functors::visit_arg_reduce(op, [&](auto f) {
    using F = decltype(f);
    visit_dtype(x.dtype, [&](auto tag) {
      using T = decltype(tag);
      run_reduce(F::kName, p, static_cast<const T*>(x.data), static_cast<int64_t*>(out.data), nullptr,
                 ArgAdapter<F, T>{f}, stream);
    });
  });
}

}  // namespace kiln::kernels
