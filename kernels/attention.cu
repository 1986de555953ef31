// Fused scaled dot-product attention (FlashAttention-2's scheme): the
// Tq x Tk scores are never held whole; the backward recomputes the
// probabilities from the saved log-sum-exp.
//
// Tensor-core forward (f16/bf16, D == Dv in {32, 64, 128}): a block of 4
// warps takes 64 queries (16 per warp) and walks the key tiles of 64 keys
// (tiles wholly above the causal diagonal skipped). Per tile: K and V are
// staged in shared memory with 16-byte loads; each warp computes its 16 x 64
// scores S = Q K^T with wmma (16x16x16, f32 accumulation), then, two lanes
// per query row, applies scale, causality, the mask and the sequence end,
// updates the row's online max and sum (functors/online_softmax.h),
// rescales its f32 output rows in shared memory by the same factor and
// writes P = exp(S - max) (dropped out) as f16/bf16; then O += P V with
// wmma. Each warp touches only its own rows of S, P and O, so the phases
// within a tile need only __syncwarp; the K/V staging needs __syncthreads.
// The output accumulators stay in shared memory (not in wmma fragments)
// because wmma's fragment layout is opaque and the per-row rescale needs to
// know which row an element belongs to.
//
// Tensor-core backward (the same cases), FlashAttention-2's split without
// atomics: delta = rowsum(dO * O) first (the general kernel below); then
// one kernel per 64 keys (16 per warp) streams the query tiles, computing
// S^T = K Q^T and dP^T = V dO^T with wmma, P^T and dS^T = P^T * (dP^T -
// delta) in f32 rounded to f16/bf16 (as FlashAttention does), and
// accumulating dV += P^T dO and dK += dS^T Q in f32 in shared memory; a
// second kernel per 64 queries streams the key tiles for dQ += dS K. Each
// score is recomputed in both kernels. About 187 KB of shared memory per
// block at D = 128.
//
// General kernels (every other case: f32, f64, other head sizes, D != Dv,
// unaligned pointers): one warp per
// query row (forward, dQ) or per key row (dK, dV). Lanes take 32 keys (or
// queries) at a time, each computing one score as a dot product in opmath
// (f32, f64 for f64); the row's statistics combine across the warp, and the
// output (or gradient) dims, owned by lanes in turn, accumulate in shared
// memory from the 32 probabilities broadcast by shuffles. The backward is
// three kernels: delta = rowsum(dO * O); dQ per query; dK and dV per key; no
// atomics, so results repeat bit for bit. It recomputes each score twice
// (once per gradient kernel) and reads K/V (or Q/dO) rows with a stride per
// lane: simple and correct for any shape, not fast.
#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <mma.h>

#include <algorithm>
#include <atomic>

#include "attention.h"
#include "common/check.h"
#include "common/launch.cuh"
#include "common/nvtx.h"
#include "common/online_softmax.cuh"
#include "common/opmath.cuh"
#include "common/reduce.cuh"
#include "functors/math.h"
#include "functors/philox.h"

namespace kiln::kernels {

namespace {

std::atomic<bool> g_force_general{false};

// --- pieces shared by every kernel ---------------------------------------------------
struct Geometry {
  int64_t B, H, Tq, Tk, D, Dv;
};

template <class T>
struct Mask {
  const void* data;
  bool is_bool;
  int64_t s0, s1, s2, s3;
  // Row offset of (b, h, i).
  __device__ int64_t row(int64_t b, int64_t h, int64_t i) const { return b * s0 + h * s1 + i * s2; }
  // The additive bias of key j for a row offset (0 without a mask).
  template <class V>
  __device__ V bias(int64_t row_offset, int64_t j) const {
    if (data == nullptr) return V(0);
    const int64_t o = row_offset + j * s3;
    if (is_bool) return static_cast<const bool*>(data)[o] ? V(0) : neg_inf<V>();
    return static_cast<V>(static_cast<opmath_t<T>>(static_cast<const T*>(data)[o]));
  }
};

struct Dropout {
  bool active;
  float p;
  float keep_scale;
  uint64_t seed, offset;
  int64_t Tq, Tk;
  __device__ float factor(int64_t bh, int64_t i, int64_t j) const {
    const uint64_t e = static_cast<uint64_t>((bh * Tq + i) * Tk + j);
    const float u = functors::uniform_float(functors::philox_pair(seed, offset, e));
    return u >= p ? keep_scale : 0.0f;
  }
};

Dropout dropout_of(const AttentionArgs& a) {
  Dropout d{};
  d.active = a.dropout_p > 0;
  d.p = static_cast<float>(a.dropout_p);
  d.keep_scale = a.dropout_p < 1 ? static_cast<float>(1.0 / (1.0 - a.dropout_p)) : 0.0f;
  d.seed = a.seed;
  d.offset = a.offset;
  d.Tq = a.Tq;
  d.Tk = a.Tk;
  return d;
}

template <class T>
Mask<T> mask_of(const AttentionArgs& a) {
  return Mask<T>{a.mask, a.mask_is_bool, a.mask_strides[0], a.mask_strides[1], a.mask_strides[2], a.mask_strides[3]};
}

template <class V>
struct AddOp {
  __device__ V operator()(V x, V y) const { return x + y; }
};
template <class V>
struct MaxOp {
  __device__ V operator()(V x, V y) const { return x > y ? x : y; }
};

// Keys a query i may see: [0, key_end).
__device__ inline int64_t key_end(int64_t i, int64_t Tk, bool causal) { return causal ? (i + 1 < Tk ? i + 1 : Tk) : Tk; }

// --- general forward: one warp per query row ---------------------------------------------
// Dynamic shared memory per warp: q row [D] and output accumulator [Dv], opmath.
template <class T>
__global__ void attention_fwd_general_kernel(const T* __restrict__ q, const T* __restrict__ k, const T* __restrict__ v,
                                             Mask<T> mask, Dropout drop, T* __restrict__ out,
                                             opmath_t<T>* __restrict__ lse, Geometry g, opmath_t<T> scale, bool causal) {
  using V = opmath_t<T>;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  V* qs = reinterpret_cast<V*>(smem_raw) + warp * (g.D + g.Dv);
  V* acc = qs + g.D;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * warps + warp;
  if (row >= g.B * g.H * g.Tq) return;  // whole warps leave together
  const int64_t bh = row / g.Tq, i = row % g.Tq, b = bh / g.H, h = bh % g.H;
  const T* qr = q + row * g.D;
  const T* kb = k + bh * g.Tk * g.D;
  const T* vb = v + bh * g.Tk * g.Dv;
  for (int64_t d = lane; d < g.D; d += 32) qs[d] = static_cast<V>(qr[d]);
  for (int64_t d = lane; d < g.Dv; d += 32) acc[d] = V(0);
  __syncwarp();
  const int64_t mrow = mask.row(b, h, i);
  const int64_t kend = key_end(i, g.Tk, causal);
  V m = neg_inf<V>(), s = V(0);
  for (int64_t j0 = 0; j0 < kend; j0 += 32) {
    const int64_t j = j0 + lane;
    V x = neg_inf<V>();
    if (j < kend) {
      const T* kr = kb + j * g.D;
      V dot = 0;
      for (int64_t d = 0; d < g.D; ++d) dot += qs[d] * static_cast<V>(kr[d]);
      x = dot * scale + mask.template bias<V>(mrow, j);
    }
    const V m_new = max(m, warp_allreduce(x, MaxOp<V>{}));
    if (m_new == neg_inf<V>()) continue;  // nothing visible yet (warp-uniform)
    const V alpha = rescale(V(1), m, m_new);
    const V e = x == neg_inf<V>() ? V(0) : functors::exp_(x - m_new);
    s = s * alpha + warp_allreduce(e, AddOp<V>{});
    m = m_new;
    const V pf = drop.active && j < kend ? e * static_cast<V>(drop.factor(bh, i, j)) : e;
    for (int64_t d = lane; d < g.Dv; d += 32) acc[d] *= alpha;
    const int count = static_cast<int>(kend - j0 < 32 ? kend - j0 : 32);  // warp-uniform
    for (int t = 0; t < count; ++t) {
      const V pt = __shfl_sync(kFullMask, pf, t);
      const T* vr = vb + (j0 + t) * g.Dv;
      for (int64_t d = lane; d < g.Dv; d += 32) acc[d] += pt * static_cast<V>(vr[d]);
    }
  }
  const V inv = s > V(0) ? V(1) / s : V(0);  // a query no key may see: zeros
  T* orow = out + row * g.Dv;
  for (int64_t d = lane; d < g.Dv; d += 32) orow[d] = static_cast<T>(acc[d] * inv);
  if (lane == 0) lse[row] = s > V(0) ? functors::log_(s) + m : neg_inf<V>();
}

// --- tensor-core forward (f16/bf16) -----------------------------------------------------
template <class T> struct Native;
template <> struct Native<Half> {
  using type = __half;
  static __device__ type from_float(float x) { return __float2half_rn(x); }
};
template <> struct Native<BFloat16> {
  using type = __nv_bfloat16;
  static __device__ type from_float(float x) { return __float2bfloat16_rn(x); }
};

constexpr int kTcWarps = 4;
constexpr int kTcRows = 16 * kTcWarps;  // queries per block
constexpr int kTcKeys = 64;             // keys per tile
constexpr int kTcThreads = 32 * kTcWarps;

constexpr size_t round_up(size_t b) { return (b + 127) / 128 * 128; }

// The shared-memory layout of one block, in bytes, for head size D. Row
// pitches are padded (16 bytes for 16-bit rows, 16 bytes for f32 rows) to
// spread rows over the banks; every wmma pointer stays 32-byte aligned.
struct TcLayout {
  int D;
  __host__ __device__ int ld_h() const { return D + 8; }         // Q, K, V rows (16-bit)
  __host__ __device__ int ld_s() const { return kTcKeys + 4; }   // S rows (f32)
  __host__ __device__ int ld_p() const { return kTcKeys + 8; }   // P rows (16-bit)
  __host__ __device__ int ld_o() const { return D + 4; }         // O rows (f32)
  __host__ __device__ size_t q_off() const { return 0; }
  __host__ __device__ size_t k_off() const { return q_off() + round_up(size_t(kTcRows) * ld_h() * 2); }
  __host__ __device__ size_t v_off() const { return k_off() + round_up(size_t(kTcKeys) * ld_h() * 2); }
  __host__ __device__ size_t s_off() const { return v_off() + round_up(size_t(kTcKeys) * ld_h() * 2); }
  __host__ __device__ size_t p_off() const { return s_off() + round_up(size_t(kTcRows) * ld_s() * 4); }
  __host__ __device__ size_t o_off() const { return p_off() + round_up(size_t(kTcRows) * ld_p() * 2); }
  __host__ __device__ size_t stat_off() const { return o_off() + round_up(size_t(kTcRows) * ld_o() * 4); }
  __host__ __device__ size_t bytes() const { return stat_off() + round_up(size_t(kTcRows) * 2 * 4); }
};

// rows [r0, r0 + rows) of a [*, D] 16-bit matrix into shared rows of pitch ld
// (zeros past `valid` rows), 16 bytes per thread per step.
template <int D, class N>
__device__ inline void stage_rows(N* dst, int ld, const N* src, int64_t rows, int64_t valid) {
  constexpr int kVecs = D / 8;  // 8 16-bit values per 16 bytes
  for (int idx = threadIdx.x; idx < rows * kVecs; idx += blockDim.x) {
    const int r = idx / kVecs, c = (idx % kVecs) * 8;
    uint4 val = make_uint4(0, 0, 0, 0);
    if (r < valid) val = *reinterpret_cast<const uint4*>(src + static_cast<int64_t>(r) * D + c);
    *reinterpret_cast<uint4*>(dst + r * ld + c) = val;
  }
}

template <class T, int D>
__global__ void __launch_bounds__(kTcThreads) attention_fwd_tc_kernel(const T* __restrict__ q_,
                                                                      const T* __restrict__ k_,
                                                                      const T* __restrict__ v_, Mask<T> mask,
                                                                      Dropout drop, T* __restrict__ out_,
                                                                      float* __restrict__ lse, Geometry g, float scale,
                                                                      bool causal, int64_t q_tiles) {
  namespace wmma = nvcuda::wmma;
  using N = typename Native<T>::type;
  const N* q = reinterpret_cast<const N*>(q_);
  const N* k = reinterpret_cast<const N*>(k_);
  const N* v = reinterpret_cast<const N*>(v_);
  N* out = reinterpret_cast<N*>(out_);
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const TcLayout L{D};
  N* Qs = reinterpret_cast<N*>(smem_raw + L.q_off());
  N* Ks = reinterpret_cast<N*>(smem_raw + L.k_off());
  N* Vs = reinterpret_cast<N*>(smem_raw + L.v_off());
  float* Ss = reinterpret_cast<float*>(smem_raw + L.s_off());
  N* Ps = reinterpret_cast<N*>(smem_raw + L.p_off());
  float* Os = reinterpret_cast<float*>(smem_raw + L.o_off());
  float* stat_m = reinterpret_cast<float*>(smem_raw + L.stat_off());
  float* stat_l = stat_m + kTcRows;
  const int ldh = L.ld_h(), lds = L.ld_s(), ldp = L.ld_p(), ldo = L.ld_o();

  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t bh = blockIdx.x / q_tiles, q0 = (blockIdx.x % q_tiles) * kTcRows;
  const int64_t b = bh / g.H, h = bh % g.H;
  const int64_t q_valid = g.Tq - q0 < kTcRows ? g.Tq - q0 : kTcRows;

  stage_rows<D>(Qs, ldh, q + (bh * g.Tq + q0) * D, kTcRows, q_valid);
  for (int idx = threadIdx.x; idx < kTcRows * D; idx += blockDim.x) Os[(idx / D) * ldo + idx % D] = 0.0f;
  for (int r = threadIdx.x; r < kTcRows; r += blockDim.x) {
    stat_m[r] = neg_inf<float>();
    stat_l[r] = 0.0f;
  }
  __syncthreads();  // Os and the statistics are zeroed by any thread, read by their row's lanes
  // Two lanes per query row: lane / 2 is the row within the warp's 16, lane % 2 the half of the columns.
  const int my_row = warp * 16 + lane / 2, half = lane % 2;
  const int64_t i = q0 + my_row;
  const bool row_valid = i < g.Tq;
  const int64_t mrow = row_valid ? mask.row(b, h, i) : 0;
  const int64_t kend_block = causal ? (q0 + kTcRows < g.Tk ? q0 + kTcRows : g.Tk) : g.Tk;
  const int64_t kend_row = row_valid ? key_end(i, g.Tk, causal) : 0;

  for (int64_t j0 = 0; j0 < kend_block; j0 += kTcKeys) {
    const int64_t k_valid = g.Tk - j0 < kTcKeys ? g.Tk - j0 : kTcKeys;
    __syncthreads();  // the previous tile's K/V are no longer read
    stage_rows<D>(Ks, ldh, k + (bh * g.Tk + j0) * D, kTcKeys, k_valid);
    stage_rows<D>(Vs, ldh, v + (bh * g.Tk + j0) * D, kTcKeys, k_valid);
    __syncthreads();

    // S = Q K^T for this warp's 16 rows.
    for (int n = 0; n < kTcKeys / 16; ++n) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> sacc;
      wmma::fill_fragment(sacc, 0.0f);
#pragma unroll
      for (int kk = 0; kk < D / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, N, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, N, wmma::col_major> fb;
        wmma::load_matrix_sync(fa, Qs + warp * 16 * ldh + kk * 16, ldh);
        wmma::load_matrix_sync(fb, Ks + n * 16 * ldh + kk * 16, ldh);  // K^T: column n of K^T is row n of K
        wmma::mma_sync(sacc, fa, fb, sacc);
      }
      wmma::store_matrix_sync(Ss + warp * 16 * lds + n * 16, sacc, lds, wmma::mem_row_major);
    }
    __syncwarp();

    // Online softmax of this lane's half row.
    float* srow = Ss + my_row * lds;
    float x[kTcKeys / 2];
    float tmax = neg_inf<float>();
#pragma unroll
    for (int c = 0; c < kTcKeys / 2; ++c) {
      const int col = half * (kTcKeys / 2) + c;
      const int64_t j = j0 + col;
      float val = neg_inf<float>();
      if (j < kend_row) val = srow[col] * scale + mask.template bias<float>(mrow, j);
      x[c] = val;
      tmax = fmaxf(tmax, val);
    }
    tmax = fmaxf(tmax, __shfl_xor_sync(kFullMask, tmax, 1));
    const float m_old = stat_m[my_row];
    const float m_new = fmaxf(m_old, tmax);
    float alpha = 1.0f, rsum = 0.0f;
    N* prow = Ps + my_row * ldp;
    if (m_new == neg_inf<float>()) {
#pragma unroll
      for (int c = 0; c < kTcKeys / 2; ++c) prow[half * (kTcKeys / 2) + c] = Native<T>::from_float(0.0f);
    } else {
      alpha = rescale(1.0f, m_old, m_new);
#pragma unroll
      for (int c = 0; c < kTcKeys / 2; ++c) {
        const int col = half * (kTcKeys / 2) + c;
        const float e = x[c] == neg_inf<float>() ? 0.0f : __expf(x[c] - m_new);
        rsum += e;
        const float pf = drop.active && row_valid ? e * drop.factor(bh, i, j0 + col) : e;
        prow[col] = Native<T>::from_float(pf);
      }
    }
    rsum += __shfl_xor_sync(kFullMask, rsum, 1);
    float* orow = Os + my_row * ldo;
    if (alpha != 1.0f)
      for (int d = half * (D / 2); d < (half + 1) * (D / 2); ++d) orow[d] *= alpha;
    __syncwarp();  // both lanes of the pair read stat_m before either writes it
    if (half == 0) {
      stat_m[my_row] = m_new;
      stat_l[my_row] = stat_l[my_row] * alpha + rsum;
    }
    __syncwarp();

    // O += P V for this warp's 16 rows.
#pragma unroll
    for (int dn = 0; dn < D / 16; ++dn) {
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> oacc;
      wmma::load_matrix_sync(oacc, Os + warp * 16 * ldo + dn * 16, ldo, wmma::mem_row_major);
#pragma unroll
      for (int kk = 0; kk < kTcKeys / 16; ++kk) {
        wmma::fragment<wmma::matrix_a, 16, 16, 16, N, wmma::row_major> fa;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, N, wmma::row_major> fb;
        wmma::load_matrix_sync(fa, Ps + warp * 16 * ldp + kk * 16, ldp);
        wmma::load_matrix_sync(fb, Vs + kk * 16 * ldh + dn * 16, ldh);
        wmma::mma_sync(oacc, fa, fb, oacc);
      }
      wmma::store_matrix_sync(Os + warp * 16 * ldo + dn * 16, oacc, ldo, wmma::mem_row_major);
    }
    __syncwarp();
  }

  // Write this lane's half row.
  if (row_valid) {
    const float l = stat_l[my_row], m = stat_m[my_row];
    const float inv = l > 0.0f ? 1.0f / l : 0.0f;
    const float* orow = Os + my_row * ldo;
    N* dst = out + (bh * g.Tq + i) * D;
    for (int d = half * (D / 2); d < (half + 1) * (D / 2); ++d) dst[d] = Native<T>::from_float(orow[d] * inv);
    if (half == 0) lse[bh * g.Tq + i] = l > 0.0f ? logf(l) + m : neg_inf<float>();
  }
}

// --- tensor-core backward (f16/bf16) -----------------------------------------------------
// Shared-memory layout of the backward kernels for head size D: four 16-bit
// tiles of 64 rows (the block's own rows X and Y, the streamed rows A and B),
// two f32 64 x 64 score tiles, two 16-bit 64 x 64 probability tiles, two f32
// accumulators [64, D], and per-row lse and delta of the streamed rows.
struct TcBwdLayout {
  int D;
  __host__ __device__ int ld_h() const { return D + 8; }
  __host__ __device__ int ld_s() const { return kTcKeys + 4; }
  __host__ __device__ int ld_p() const { return kTcKeys + 8; }
  __host__ __device__ int ld_o() const { return D + 4; }
  __host__ __device__ size_t tile_h() const { return round_up(size_t(64) * ld_h() * 2); }
  __host__ __device__ size_t tile_s() const { return round_up(size_t(64) * ld_s() * 4); }
  __host__ __device__ size_t tile_p() const { return round_up(size_t(64) * ld_p() * 2); }
  __host__ __device__ size_t tile_o() const { return round_up(size_t(64) * ld_o() * 4); }
  __host__ __device__ size_t h_off(int t) const { return t * tile_h(); }                       // t = 0..3
  __host__ __device__ size_t s_off(int t) const { return 4 * tile_h() + t * tile_s(); }        // t = 0..1
  __host__ __device__ size_t p_off(int t) const { return 4 * tile_h() + 2 * tile_s() + t * tile_p(); }
  __host__ __device__ size_t o_off(int t) const {
    return 4 * tile_h() + 2 * tile_s() + 2 * tile_p() + t * tile_o();
  }
  __host__ __device__ size_t row_off() const { return 4 * tile_h() + 2 * tile_s() + 2 * tile_p() + 2 * tile_o(); }
  __host__ __device__ size_t bytes() const { return row_off() + round_up(size_t(64) * 2 * 4); }
};

// C (16 x 64, f32, row-major, ldc) = A (16 x D rows of a, lda) times the
// transpose of B (64 rows of b, ldb, D each): both operands row-major in
// shared memory.
template <class N, int D>
__device__ inline void mma_abt(const N* a, int lda, const N* b, int ldb, float* c, int ldc) {
  namespace wmma = nvcuda::wmma;
  for (int n = 0; n < 4; ++n) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::fill_fragment(acc, 0.0f);
#pragma unroll
    for (int kk = 0; kk < D / 16; ++kk) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, N, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, N, wmma::col_major> fb;
      wmma::load_matrix_sync(fa, a + kk * 16, lda);
      wmma::load_matrix_sync(fb, b + n * 16 * ldb + kk * 16, ldb);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(c + n * 16, acc, ldc, wmma::mem_row_major);
  }
}

// C (16 x D, f32 in shared memory, ldc) += A (16 x 64, 16-bit, lda) times B
// (64 x D, 16-bit, row-major, ldb).
template <class N, int D>
__device__ inline void mma_ab_acc(const N* a, int lda, const N* b, int ldb, float* c, int ldc) {
  namespace wmma = nvcuda::wmma;
#pragma unroll
  for (int dn = 0; dn < D / 16; ++dn) {
    wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
    wmma::load_matrix_sync(acc, c + dn * 16, ldc, wmma::mem_row_major);
#pragma unroll
    for (int kk = 0; kk < 4; ++kk) {
      wmma::fragment<wmma::matrix_a, 16, 16, 16, N, wmma::row_major> fa;
      wmma::fragment<wmma::matrix_b, 16, 16, 16, N, wmma::row_major> fb;
      wmma::load_matrix_sync(fa, a + kk * 16, lda);
      wmma::load_matrix_sync(fb, b + kk * 16 * ldb + dn * 16, ldb);
      wmma::mma_sync(acc, fa, fb, acc);
    }
    wmma::store_matrix_sync(c + dn * 16, acc, ldc, wmma::mem_row_major);
  }
}

// lse and delta of rows [r0, r0 + 64) (-inf / 0 past the end) into shared memory.
__device__ inline void stage_row_stats(float* dst_lse, float* dst_delta, const float* lse, const float* delta,
                                       int64_t r0, int64_t valid) {
  for (int r = threadIdx.x; r < 64; r += blockDim.x) {
    dst_lse[r] = r < valid ? lse[r0 + r] : neg_inf<float>();
    dst_delta[r] = r < valid ? delta[r0 + r] : 0.0f;
  }
}

// dK and dV for 64 keys per block (16 per warp), streaming the query tiles.
// In the warp's 16 x 64 tiles, row = key, column = query: S^T = K Q^T and
// dP^T = V dO^T, then P^T (dropped) and dS^T in 16-bit, then dV += P^T dO and
// dK += dS^T Q.
template <class T, int D>
__global__ void __launch_bounds__(kTcThreads) attention_dkv_tc_kernel(
    const T* __restrict__ gout_, const T* __restrict__ q_, const T* __restrict__ k_, const T* __restrict__ v_,
    Mask<T> mask, Dropout drop, const float* __restrict__ lse, const float* __restrict__ delta, T* __restrict__ gk_,
    T* __restrict__ gv_, Geometry g, float scale, bool causal, int64_t k_tiles) {
  using N = typename Native<T>::type;
  const N* q = reinterpret_cast<const N*>(q_);
  const N* k = reinterpret_cast<const N*>(k_);
  const N* v = reinterpret_cast<const N*>(v_);
  const N* go = reinterpret_cast<const N*>(gout_);
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const TcBwdLayout L{D};
  N* Ks = reinterpret_cast<N*>(smem_raw + L.h_off(0));
  N* Vs = reinterpret_cast<N*>(smem_raw + L.h_off(1));
  N* Qs = reinterpret_cast<N*>(smem_raw + L.h_off(2));
  N* Gs = reinterpret_cast<N*>(smem_raw + L.h_off(3));
  float* St = reinterpret_cast<float*>(smem_raw + L.s_off(0));
  float* dPt = reinterpret_cast<float*>(smem_raw + L.s_off(1));
  N* Pt = reinterpret_cast<N*>(smem_raw + L.p_off(0));
  N* dSt = reinterpret_cast<N*>(smem_raw + L.p_off(1));
  float* dK = reinterpret_cast<float*>(smem_raw + L.o_off(0));
  float* dV = reinterpret_cast<float*>(smem_raw + L.o_off(1));
  float* row_lse = reinterpret_cast<float*>(smem_raw + L.row_off());
  float* row_delta = row_lse + 64;
  const int ldh = L.ld_h(), lds = L.ld_s(), ldp = L.ld_p(), ldo = L.ld_o();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t bh = blockIdx.x / k_tiles, j0 = (blockIdx.x % k_tiles) * 64;
  const int64_t b = bh / g.H, h = bh % g.H;
  const int64_t k_valid = g.Tk - j0 < 64 ? g.Tk - j0 : 64;
  stage_rows<D>(Ks, ldh, k + (bh * g.Tk + j0) * D, 64, k_valid);
  stage_rows<D>(Vs, ldh, v + (bh * g.Tk + j0) * D, 64, k_valid);
  for (int idx = threadIdx.x; idx < 64 * D; idx += blockDim.x) {
    dK[(idx / D) * ldo + idx % D] = 0.0f;
    dV[(idx / D) * ldo + idx % D] = 0.0f;
  }
  // Two lanes per key row of the warp's 16; each takes 32 of the 64 queries.
  const int my_row = warp * 16 + lane / 2, half = lane % 2;
  const int64_t j = j0 + my_row;
  const bool key_valid = j < g.Tk;
  const int64_t i_begin = causal ? (j0 / 64) * 64 : 0;  // earlier query tiles see none of these keys
  for (int64_t i0 = i_begin; i0 < g.Tq; i0 += 64) {
    const int64_t q_valid = g.Tq - i0 < 64 ? g.Tq - i0 : 64;
    __syncthreads();  // the previous query tile is no longer read
    stage_rows<D>(Qs, ldh, q + (bh * g.Tq + i0) * D, 64, q_valid);
    stage_rows<D>(Gs, ldh, go + (bh * g.Tq + i0) * D, 64, q_valid);
    stage_row_stats(row_lse, row_delta, lse + bh * g.Tq, delta + bh * g.Tq, i0, q_valid);
    __syncthreads();
    mma_abt<N, D>(Ks + warp * 16 * ldh, ldh, Qs, ldh, St + warp * 16 * lds, lds);
    mma_abt<N, D>(Vs + warp * 16 * ldh, ldh, Gs, ldh, dPt + warp * 16 * lds, lds);
    __syncwarp();
#pragma unroll 4
    for (int c = 0; c < 32; ++c) {
      const int col = half * 32 + c;
      const int64_t i = i0 + col;
      float p = 0.0f, ds = 0.0f, f = 1.0f;
      const float l = row_lse[col];
      if (key_valid && i < g.Tq && (!causal || j <= i) && l != neg_inf<float>()) {
        const float x = St[my_row * lds + col] * scale + mask.template bias<float>(mask.row(b, h, i), j);
        if (x != neg_inf<float>()) {
          p = __expf(x - l);
          if (drop.active) f = drop.factor(bh, i, j);
          ds = p * (dPt[my_row * lds + col] * f - row_delta[col]);
        }
      }
      Pt[my_row * ldp + col] = Native<T>::from_float(p * f);
      dSt[my_row * ldp + col] = Native<T>::from_float(ds);
    }
    __syncwarp();
    mma_ab_acc<N, D>(Pt + warp * 16 * ldp, ldp, Gs, ldh, dV + warp * 16 * ldo, ldo);
    mma_ab_acc<N, D>(dSt + warp * 16 * ldp, ldp, Qs, ldh, dK + warp * 16 * ldo, ldo);
    __syncwarp();
  }
  __syncthreads();
  if (key_valid) {
    N* gk = reinterpret_cast<N*>(gk_);
    N* gv = reinterpret_cast<N*>(gv_);
    for (int d = half * (D / 2); d < (half + 1) * (D / 2); ++d) {
      if (gk) gk[(bh * g.Tk + j) * D + d] = Native<T>::from_float(dK[my_row * ldo + d] * scale);
      if (gv) gv[(bh * g.Tk + j) * D + d] = Native<T>::from_float(dV[my_row * ldo + d]);
    }
  }
}

// dQ for 64 queries per block (16 per warp), streaming the key tiles: S = Q
// K^T, dP = dO V^T, dS in 16-bit, dQ += dS K.
template <class T, int D>
__global__ void __launch_bounds__(kTcThreads) attention_dq_tc_kernel(
    const T* __restrict__ gout_, const T* __restrict__ q_, const T* __restrict__ k_, const T* __restrict__ v_,
    Mask<T> mask, Dropout drop, const float* __restrict__ lse, const float* __restrict__ delta, T* __restrict__ gq_,
    Geometry g, float scale, bool causal, int64_t q_tiles) {
  using N = typename Native<T>::type;
  const N* q = reinterpret_cast<const N*>(q_);
  const N* k = reinterpret_cast<const N*>(k_);
  const N* v = reinterpret_cast<const N*>(v_);
  const N* go = reinterpret_cast<const N*>(gout_);
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const TcBwdLayout L{D};
  N* Qs = reinterpret_cast<N*>(smem_raw + L.h_off(0));
  N* Gs = reinterpret_cast<N*>(smem_raw + L.h_off(1));
  N* Ks = reinterpret_cast<N*>(smem_raw + L.h_off(2));
  N* Vs = reinterpret_cast<N*>(smem_raw + L.h_off(3));
  float* S = reinterpret_cast<float*>(smem_raw + L.s_off(0));
  float* dP = reinterpret_cast<float*>(smem_raw + L.s_off(1));
  N* dS = reinterpret_cast<N*>(smem_raw + L.p_off(0));
  float* dQ = reinterpret_cast<float*>(smem_raw + L.o_off(0));
  float* row_lse = reinterpret_cast<float*>(smem_raw + L.row_off());
  float* row_delta = row_lse + 64;
  const int ldh = L.ld_h(), lds = L.ld_s(), ldp = L.ld_p(), ldo = L.ld_o();
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  const int64_t bh = blockIdx.x / q_tiles, i0 = (blockIdx.x % q_tiles) * 64;
  const int64_t b = bh / g.H, h = bh % g.H;
  const int64_t q_valid = g.Tq - i0 < 64 ? g.Tq - i0 : 64;
  stage_rows<D>(Qs, ldh, q + (bh * g.Tq + i0) * D, 64, q_valid);
  stage_rows<D>(Gs, ldh, go + (bh * g.Tq + i0) * D, 64, q_valid);
  stage_row_stats(row_lse, row_delta, lse + bh * g.Tq, delta + bh * g.Tq, i0, q_valid);
  for (int idx = threadIdx.x; idx < 64 * D; idx += blockDim.x) dQ[(idx / D) * ldo + idx % D] = 0.0f;
  const int my_row = warp * 16 + lane / 2, half = lane % 2;
  const int64_t i = i0 + my_row;
  const bool row_valid = i < g.Tq;
  const int64_t kend_block = causal ? (i0 + 64 < g.Tk ? i0 + 64 : g.Tk) : g.Tk;
  for (int64_t j0 = 0; j0 < kend_block; j0 += 64) {
    const int64_t k_valid = g.Tk - j0 < 64 ? g.Tk - j0 : 64;
    __syncthreads();
    stage_rows<D>(Ks, ldh, k + (bh * g.Tk + j0) * D, 64, k_valid);
    stage_rows<D>(Vs, ldh, v + (bh * g.Tk + j0) * D, 64, k_valid);
    __syncthreads();
    mma_abt<N, D>(Qs + warp * 16 * ldh, ldh, Ks, ldh, S + warp * 16 * lds, lds);
    mma_abt<N, D>(Gs + warp * 16 * ldh, ldh, Vs, ldh, dP + warp * 16 * lds, lds);
    __syncwarp();
    const float l = row_lse[my_row], dl = row_delta[my_row];
    const int64_t mrow = row_valid ? mask.row(b, h, i) : 0;
#pragma unroll 4
    for (int c = 0; c < 32; ++c) {
      const int col = half * 32 + c;
      const int64_t j = j0 + col;
      float ds = 0.0f;
      if (row_valid && j < g.Tk && (!causal || j <= i) && l != neg_inf<float>()) {
        const float x = S[my_row * lds + col] * scale + mask.template bias<float>(mrow, j);
        if (x != neg_inf<float>()) {
          const float p = __expf(x - l);
          const float f = drop.active ? drop.factor(bh, i, j) : 1.0f;
          ds = p * (dP[my_row * lds + col] * f - dl);
        }
      }
      dS[my_row * ldp + col] = Native<T>::from_float(ds);
    }
    __syncwarp();
    mma_ab_acc<N, D>(dS + warp * 16 * ldp, ldp, Ks, ldh, dQ + warp * 16 * ldo, ldo);
    __syncwarp();
  }
  __syncthreads();
  if (row_valid) {
    N* gq = reinterpret_cast<N*>(gq_);
    for (int d = half * (D / 2); d < (half + 1) * (D / 2); ++d)
      gq[(bh * g.Tq + i) * D + d] = Native<T>::from_float(dQ[my_row * ldo + d] * scale);
  }
}

// --- general backward -----------------------------------------------------------------
template <class T>
__global__ void attention_delta_kernel(const T* __restrict__ gout, const T* __restrict__ out,
                                       opmath_t<T>* __restrict__ delta, int64_t rows, int64_t Dv) {
  using V = opmath_t<T>;
  const int lane = threadIdx.x % 32;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * (blockDim.x / 32) + threadIdx.x / 32;
  if (row >= rows) return;
  V s = 0;
  for (int64_t d = lane; d < Dv; d += 32) s += static_cast<V>(gout[row * Dv + d]) * static_cast<V>(out[row * Dv + d]);
  s = warp_allreduce(s, AddOp<V>{});
  if (lane == 0) delta[row] = s;
}

// dQ, one warp per query row. Shared per warp: q [D], dO [Dv], dQ accumulator [D].
template <class T>
__global__ void attention_dq_general_kernel(const T* __restrict__ gout, const T* __restrict__ q,
                                            const T* __restrict__ k, const T* __restrict__ v, Mask<T> mask,
                                            Dropout drop, const opmath_t<T>* __restrict__ lse,
                                            const opmath_t<T>* __restrict__ delta, T* __restrict__ gq, Geometry g,
                                            opmath_t<T> scale, bool causal) {
  using V = opmath_t<T>;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  V* qs = reinterpret_cast<V*>(smem_raw) + warp * (2 * g.D + g.Dv);
  V* dos = qs + g.D;
  V* acc = dos + g.Dv;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * warps + warp;
  if (row >= g.B * g.H * g.Tq) return;
  const int64_t bh = row / g.Tq, i = row % g.Tq, b = bh / g.H, h = bh % g.H;
  for (int64_t d = lane; d < g.D; d += 32) {
    qs[d] = static_cast<V>(q[row * g.D + d]);
    acc[d] = V(0);
  }
  for (int64_t d = lane; d < g.Dv; d += 32) dos[d] = static_cast<V>(gout[row * g.Dv + d]);
  __syncwarp();
  const V l = lse[row], dl = delta[row];
  const int64_t mrow = mask.row(b, h, i);
  const int64_t kend = l == neg_inf<V>() ? 0 : key_end(i, g.Tk, causal);
  const T* kb = k + bh * g.Tk * g.D;
  const T* vb = v + bh * g.Tk * g.Dv;
  for (int64_t j0 = 0; j0 < kend; j0 += 32) {
    const int64_t j = j0 + lane;
    V ds = 0;
    if (j < kend) {
      V dot = 0;
      for (int64_t d = 0; d < g.D; ++d) dot += qs[d] * static_cast<V>(kb[j * g.D + d]);
      const V x = dot * scale + mask.template bias<V>(mrow, j);
      const V p = x == neg_inf<V>() ? V(0) : functors::exp_(x - l);
      V dp = 0;
      for (int64_t d = 0; d < g.Dv; ++d) dp += dos[d] * static_cast<V>(vb[j * g.Dv + d]);
      const V f = drop.active ? static_cast<V>(drop.factor(bh, i, j)) : V(1);
      ds = p * (dp * f - dl);
    }
    const int count = static_cast<int>(kend - j0 < 32 ? kend - j0 : 32);
    for (int t = 0; t < count; ++t) {
      const V dst = __shfl_sync(kFullMask, ds, t);
      const T* kr = kb + (j0 + t) * g.D;
      for (int64_t d = lane; d < g.D; d += 32) acc[d] += dst * static_cast<V>(kr[d]);
    }
  }
  for (int64_t d = lane; d < g.D; d += 32) gq[row * g.D + d] = static_cast<T>(acc[d] * scale);
}

// dK and dV, one warp per key row. Shared per warp: k [D], v [Dv], dK [D], dV [Dv].
template <class T>
__global__ void attention_dkv_general_kernel(const T* __restrict__ gout, const T* __restrict__ q,
                                             const T* __restrict__ k, const T* __restrict__ v, Mask<T> mask,
                                             Dropout drop, const opmath_t<T>* __restrict__ lse,
                                             const opmath_t<T>* __restrict__ delta, T* __restrict__ gk,
                                             T* __restrict__ gv, Geometry g, opmath_t<T> scale, bool causal) {
  using V = opmath_t<T>;
  extern __shared__ __align__(128) unsigned char smem_raw[];
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  V* ks = reinterpret_cast<V*>(smem_raw) + warp * (2 * g.D + 2 * g.Dv);
  V* vs = ks + g.D;
  V* acck = vs + g.Dv;
  V* accv = acck + g.D;
  const int64_t row = static_cast<int64_t>(blockIdx.x) * warps + warp;
  if (row >= g.B * g.H * g.Tk) return;
  const int64_t bh = row / g.Tk, j = row % g.Tk, b = bh / g.H, h = bh % g.H;
  for (int64_t d = lane; d < g.D; d += 32) {
    ks[d] = static_cast<V>(k[row * g.D + d]);
    acck[d] = V(0);
  }
  for (int64_t d = lane; d < g.Dv; d += 32) {
    vs[d] = static_cast<V>(v[row * g.Dv + d]);
    accv[d] = V(0);
  }
  __syncwarp();
  const T* qb = q + bh * g.Tq * g.D;
  const T* ob = gout + bh * g.Tq * g.Dv;
  const int64_t istart = causal ? j : 0;  // query i sees key j when j <= i
  for (int64_t i0 = istart; i0 < g.Tq; i0 += 32) {
    const int64_t i = i0 + lane;
    V ds = 0, pf = 0;
    if (i < g.Tq) {
      const V l = lse[bh * g.Tq + i];
      if (l != neg_inf<V>()) {
        V dot = 0;
        for (int64_t d = 0; d < g.D; ++d) dot += static_cast<V>(qb[i * g.D + d]) * ks[d];
        const V x = dot * scale + mask.template bias<V>(mask.row(b, h, i), j);
        const V p = x == neg_inf<V>() ? V(0) : functors::exp_(x - l);
        V dp = 0;
        for (int64_t d = 0; d < g.Dv; ++d) dp += static_cast<V>(ob[i * g.Dv + d]) * vs[d];
        const V f = drop.active ? static_cast<V>(drop.factor(bh, i, j)) : V(1);
        ds = p * (dp * f - delta[bh * g.Tq + i]);
        pf = p * f;
      }
    }
    const int count = static_cast<int>(g.Tq - i0 < 32 ? g.Tq - i0 : 32);
    for (int t = 0; t < count; ++t) {
      const V dst = __shfl_sync(kFullMask, ds, t);
      const V pft = __shfl_sync(kFullMask, pf, t);
      const T* qr = qb + (i0 + t) * g.D;
      const T* gr = ob + (i0 + t) * g.Dv;
      for (int64_t d = lane; d < g.D; d += 32) acck[d] += dst * static_cast<V>(qr[d]);
      for (int64_t d = lane; d < g.Dv; d += 32) accv[d] += pft * static_cast<V>(gr[d]);
    }
  }
  if (gk)
    for (int64_t d = lane; d < g.D; d += 32) gk[row * g.D + d] = static_cast<T>(acck[d] * scale);
  if (gv)
    for (int64_t d = lane; d < g.Dv; d += 32) gv[row * g.Dv + d] = static_cast<T>(accv[d]);
}

// --- launch helpers ------------------------------------------------------------------------
constexpr size_t kGeneralSharedLimit = 48 * 1024;

// Warps per block for a general kernel needing `per_warp` bytes of shared memory.
int general_warps(size_t per_warp, const char* name) {
  const size_t w = per_warp == 0 ? 8 : std::min<size_t>(8, kGeneralSharedLimit / per_warp);
  if (w == 0)
    throw ShapeError(std::string(name) + ": head sizes this large (" + std::to_string(per_warp) +
                     " bytes of shared memory per query) are not supported on CUDA");
  return static_cast<int>(w);
}

Geometry geometry_of(const AttentionArgs& a) { return Geometry{a.B, a.H, a.Tq, a.Tk, a.D, a.Dv}; }

bool aligned16(const void* p) { return reinterpret_cast<uintptr_t>(p) % 16 == 0; }

// The most dynamic shared memory a block of the current device may opt in
// to (227 KB on Hopper, 163 KB on A100, 99 KB on most consumer parts).
size_t shared_optin_limit() {
  int dev = 0, bytes = 0;
  KILN_CUDA_CHECK(cudaGetDevice(&dev));
  KILN_CUDA_CHECK(cudaDeviceGetAttribute(&bytes, cudaDevAttrMaxSharedMemoryPerBlockOptin, dev));
  return static_cast<size_t>(bytes);
}

// Whether the tensor-core kernels take these arguments, and (backward)
// whether their larger shared-memory layout fits the device too.
bool tc_applies(const AttentionArgs& a, DType dtype, const void* q, const void* k, const void* v, const void* out,
                bool backward = false) {
  if (g_force_general.load()) return false;
  if (dtype != DType::Float16 && dtype != DType::BFloat16) return false;
  if (a.D != a.Dv || (a.D != 32 && a.D != 64 && a.D != 128)) return false;
  if (!(aligned16(q) && aligned16(k) && aligned16(v) && aligned16(out))) return false;
  const int D = static_cast<int>(a.D);
  return (backward ? TcBwdLayout{D}.bytes() : TcLayout{D}.bytes()) <= shared_optin_limit();
}

template <class T, int D>
void launch_tc(const AttentionArgs& a, const T* q, const T* k, const T* v, T* out, float* lse, cudaStream_t stream) {
  const TcLayout L{D};
  const size_t bytes = L.bytes();
  // Above 48 KB a block's dynamic shared memory must be allowed explicitly (per device; setting it again is cheap).
  KILN_CUDA_CHECK(cudaFuncSetAttribute(attention_fwd_tc_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                       static_cast<int>(bytes)));
  const int64_t q_tiles = ceil_div(a.Tq, kTcRows);
  const int64_t blocks = a.B * a.H * q_tiles;
  attention_fwd_tc_kernel<T, D><<<static_cast<unsigned>(blocks), kTcThreads, bytes, stream>>>(
      q, k, v, mask_of<T>(a), dropout_of(a), out, lse, geometry_of(a), static_cast<float>(a.scale), a.causal, q_tiles);
}

template <class T, int D>
void launch_tc_bwd(const AttentionArgs& a, const T* go, const T* q, const T* k, const T* v, const float* lse,
                   const float* delta, T* gq, T* gk, T* gv, cudaStream_t stream) {
  const size_t bytes = TcBwdLayout{D}.bytes();
  const Geometry g = geometry_of(a);
  const float scale = static_cast<float>(a.scale);
  if (gk || gv) {
    KILN_CUDA_CHECK(cudaFuncSetAttribute(attention_dkv_tc_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(bytes)));
    const int64_t k_tiles = ceil_div(a.Tk, 64);
    attention_dkv_tc_kernel<T, D><<<static_cast<unsigned>(a.B * a.H * k_tiles), kTcThreads, bytes, stream>>>(
        go, q, k, v, mask_of<T>(a), dropout_of(a), lse, delta, gk, gv, g, scale, a.causal, k_tiles);
  }
  if (gq) {
    KILN_CUDA_CHECK(cudaFuncSetAttribute(attention_dq_tc_kernel<T, D>, cudaFuncAttributeMaxDynamicSharedMemorySize,
                                         static_cast<int>(bytes)));
    const int64_t q_tiles = ceil_div(a.Tq, 64);
    attention_dq_tc_kernel<T, D><<<static_cast<unsigned>(a.B * a.H * q_tiles), kTcThreads, bytes, stream>>>(
        go, q, k, v, mask_of<T>(a), dropout_of(a), lse, delta, gq, g, scale, a.causal, q_tiles);
  }
}

}  // namespace

void set_attention_force_general(bool force) { g_force_general.store(force); }

const char* attention_fwd_kernel_name(const AttentionArgs& a, DType dtype, const void* q, const void* k,
                                      const void* v, const void* out) {
  return tc_applies(a, dtype, q, k, v, out) ? "tensor_core" : "general";
}

void launch_attention_fwd(const AttentionArgs& a, const void* q, const void* k, const void* v, void* out, void* lse,
                          DType dtype, cudaStream_t stream) {
  const char* name = "attention_fwd";
  KILN_NVTX_RANGE(name);
  const int64_t rows = a.B * a.H * a.Tq;
  if (rows == 0) return;
  if (tc_applies(a, dtype, q, k, v, out)) {
    auto run = [&](auto tag) {
      using T = decltype(tag);
      const T* qp = static_cast<const T*>(q);
      const T* kp = static_cast<const T*>(k);
      const T* vp = static_cast<const T*>(v);
      T* op = static_cast<T*>(out);
      float* lp = static_cast<float*>(lse);
      if (a.D == 32) launch_tc<T, 32>(a, qp, kp, vp, op, lp, stream);
      else if (a.D == 64) launch_tc<T, 64>(a, qp, kp, vp, op, lp, stream);
      else launch_tc<T, 128>(a, qp, kp, vp, op, lp, stream);
    };
    if (dtype == DType::Float16) run(Half{});
    else run(BFloat16{});
    KILN_CHECK_LAUNCH(name, stream);
    return;
  }
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const size_t per_warp = static_cast<size_t>(a.D + a.Dv) * sizeof(V);
    const int warps = general_warps(per_warp, name);
    attention_fwd_general_kernel<T><<<static_cast<unsigned>(ceil_div(rows, warps)), 32 * warps, warps * per_warp,
                                      stream>>>(static_cast<const T*>(q), static_cast<const T*>(k),
                                                static_cast<const T*>(v), mask_of<T>(a), dropout_of(a),
                                                static_cast<T*>(out), static_cast<V*>(lse), geometry_of(a),
                                                static_cast<V>(a.scale), a.causal);
    KILN_CHECK_LAUNCH(name, stream);
  });
}

size_t attention_bwd_workspace_bytes(const AttentionArgs& a, DType dtype) {
  const size_t v = dtype == DType::Float64 ? sizeof(double) : sizeof(float);
  return static_cast<size_t>(a.B * a.H * a.Tq) * v;  // delta
}

void launch_attention_bwd(const AttentionArgs& a, const void* gout, const void* q, const void* k, const void* v,
                          const void* out, const void* lse, void* gq, void* gk, void* gv, void* workspace, DType dtype,
                          cudaStream_t stream) {
  const char* name = "attention_bwd";
  KILN_NVTX_RANGE(name);
  if (a.B * a.H == 0) return;
  visit_floating(dtype, name, [&](auto tag) {
    using T = decltype(tag);
    using V = opmath_t<T>;
    const Geometry g = geometry_of(a);
    const V scale = static_cast<V>(a.scale);
    V* delta = static_cast<V*>(workspace);
    const T* go = static_cast<const T*>(gout);
    const T* qp = static_cast<const T*>(q);
    const T* kp = static_cast<const T*>(k);
    const T* vp = static_cast<const T*>(v);
    const V* lp = static_cast<const V*>(lse);
    const int64_t qrows = a.B * a.H * a.Tq, krows = a.B * a.H * a.Tk;
    if (qrows > 0) {
      attention_delta_kernel<T><<<static_cast<unsigned>(ceil_div(qrows, kThreads / 32)), kThreads, 0, stream>>>(
          go, static_cast<const T*>(out), delta, qrows, a.Dv);
      KILN_CHECK_LAUNCH(name, stream);
    }
    if (qrows > 0 && krows > 0 && tc_applies(a, dtype, q, k, v, gout, /*backward=*/true) &&
        (!gq || aligned16(gq)) && (!gk || aligned16(gk)) && (!gv || aligned16(gv))) {
      if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
        const float* lf = reinterpret_cast<const float*>(lse);
        const float* df = reinterpret_cast<const float*>(delta);
        T* gqp = static_cast<T*>(gq);
        T* gkp = static_cast<T*>(gk);
        T* gvp = static_cast<T*>(gv);
        if (a.D == 32) launch_tc_bwd<T, 32>(a, go, qp, kp, vp, lf, df, gqp, gkp, gvp, stream);
        else if (a.D == 64) launch_tc_bwd<T, 64>(a, go, qp, kp, vp, lf, df, gqp, gkp, gvp, stream);
        else launch_tc_bwd<T, 128>(a, go, qp, kp, vp, lf, df, gqp, gkp, gvp, stream);
        KILN_CHECK_LAUNCH(name, stream);
        return;
      }
    }
    if (gq && qrows > 0) {
      const size_t per_warp = static_cast<size_t>(2 * a.D + a.Dv) * sizeof(V);
      const int warps = general_warps(per_warp, name);
      attention_dq_general_kernel<T><<<static_cast<unsigned>(ceil_div(qrows, warps)), 32 * warps, warps * per_warp,
                                       stream>>>(go, qp, kp, vp, mask_of<T>(a), dropout_of(a), lp, delta,
                                                 static_cast<T*>(gq), g, scale, a.causal);
      KILN_CHECK_LAUNCH(name, stream);
    }
    if ((gk || gv) && krows > 0) {
      const size_t per_warp = static_cast<size_t>(2 * a.D + 2 * a.Dv) * sizeof(V);
      const int warps = general_warps(per_warp, name);
      attention_dkv_general_kernel<T><<<static_cast<unsigned>(ceil_div(krows, warps)), 32 * warps, warps * per_warp,
                                        stream>>>(go, qp, kp, vp, mask_of<T>(a), dropout_of(a), lp, delta,
                                                  static_cast<T*>(gk), static_cast<T*>(gv), g, scale, a.causal);
      KILN_CHECK_LAUNCH(name, stream);
    }
  });
}

}  // namespace kiln::kernels
