// CPU scaled dot-product attention, forward and backward, in the manner of
// FlashAttention-2: the Tq x Tk scores are never held whole.
//
// Forward, for each (b, h, tile of kQTile queries), in parallel: for each
// tile of kKTile keys (tiles wholly above the causal diagonal skipped),
// S = scale * Q K^T (one sgemm into a kQTile x kKTile buffer), plus the mask;
// the tile's row max updates the running (max, sum) of
// functors/online_softmax.h, whose rescale factor also rescales the running
// output; P = exp(S - max) is added to the sum, dropped out (Philox), and
// P V is added to the output (a second sgemm). At the end out /= sum and
// lse = max + log(sum).
//
// Backward, from the saved lse: the probabilities P = exp(S - lse) of each
// (query tile, key tile) pair are recomputed, with dP = dO V^T and
// dS = P * (dP - delta), delta = rowsum(dO * O), then dV += P^T dO,
// dK += scale * dS^T Q, dQ += scale * dS K. With at least as many (b, h)
// pairs as threads, each thread owns whole (b, h) pairs and does all three
// in one sweep; otherwise a first sweep parallel over (b, h, key tile)
// writes dK and dV and a second over (b, h, query tile) writes dQ, so no
// two threads ever add into one gradient row.
//
// Every [B, H, T, D] operand is read and written through its strides, its
// rows (the D elements of one (b, h, t)) contiguous: q, k and v may be views
// of a fused [B, T, 3, H, D] projection and out a [B, T, H, D] buffer seen
// as [B, H, T, D], so that no head split or merge copies them.
//
// f32 and f64 compute in their own type; f16/bf16 are widened to f32 copies
// first (O(T * D) memory) and the results rounded back.
#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#if defined(__AVX512F__)
#include <immintrin.h>
#endif

#include "core/tensor_impl.h"
#include "cpu/blas_threads.h"
#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"
#include "cpu/parallel.h"
#include "cpu/vector_math.h"
#include "functors/online_softmax.h"
#include "functors/philox.h"

namespace kiln::cpu {

namespace {

constexpr int64_t kQTile = 64;
constexpr int64_t kKTile = 128;

// C (M x N, row-major, ldc) = alpha * op(A) op(B) + beta * C; an empty inner
// dimension gives beta * C (BLAS refuses a zero leading dimension).
template <class V>
void gemm(bool ta, bool tb, int64_t M, int64_t N, int64_t K, V alpha, const V* A, int64_t lda, const V* B,
          int64_t ldb, V beta, V* C, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (K == 0) {
    for (int64_t i = 0; i < M; ++i)
      for (int64_t j = 0; j < N; ++j) C[i * ldc + j] = beta == V(0) ? V(0) : beta * C[i * ldc + j];
    return;
  }
  cpu::gemm(ta, tb, M, N, K, alpha, A, std::max<int64_t>(lda, 1), B, std::max<int64_t>(ldb, 1), beta, C,
            std::max<int64_t>(ldc, 1), /*one_thread=*/true);
}

struct Geometry {
  int64_t B, H, Tq, Tk, D, Dv;
};

// The rows of one [B, H, T, D] operand: head (b, h) starts b * sb + h * sh
// elements in, its rows `ld` apart. Null data for a gradient not wanted.
template <class P>
struct Rows {
  P* data = nullptr;
  int64_t H = 1, sb = 0, sh = 0, ld = 0;
  P* head(int64_t bh) const { return data + (bh / H) * sb + (bh % H) * sh; }
  P* row(int64_t bh, int64_t t) const { return head(bh) + t * ld; }
};

template <class P>
Rows<P> rows_of(const Tensor& t) {
  if (!t.defined()) return {};
  KILN_INTERNAL_ASSERT(t.size(3) <= 1 || t.stride(3) == 1, "attention: rows must be contiguous");
  // A dim of size 1 has no meaningful stride; a row length keeps BLAS happy.
  const int64_t ld = t.size(2) > 1 ? t.stride(2) : std::max<int64_t>(t.size(3), 1);
  return Rows<P>{static_cast<P*>(t.raw_data_ptr()), t.size(1), t.stride(0), t.stride(1), ld};
}

// A row's maximum over `init` and s[0..n), and its sum. A serial loop is
// one dependency chain, a max's or an add's latency per element, which for
// char_gpt's 64-key rows was most of the forward's time outside its
// products; in sixteen AVX-512 lanes it is a few vector ops and a
// reduction. The maximum equals the serial loop's (a NaN is passed over,
// as by std::max: MAXPS returns its second operand when either is NaN);
// the sum adds in another order, so it may differ in the last bits.
// GCC 12 warns that the reductions' _mm512_undefined_* temporaries "may be
// used uninitialized": a false positive in its own headers.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
inline float row_max(const float* s, int64_t n, float init) {
#if defined(__AVX512F__)
  __m512 m = _mm512_set1_ps(init);
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) m = _mm512_max_ps(_mm512_loadu_ps(s + c), m);
  if (c < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - c)) - 1);
    m = _mm512_mask_max_ps(m, tail, _mm512_maskz_loadu_ps(tail, s + c), m);
  }
  return _mm512_reduce_max_ps(m);
#else
  float m = init;
  for (int64_t c = 0; c < n; ++c) m = std::max(m, s[c]);
  return m;
#endif
}
inline double row_max(const double* s, int64_t n, double init) {
  double m = init;
  for (int64_t c = 0; c < n; ++c) m = std::max(m, s[c]);
  return m;
}

inline float row_sum(const float* s, int64_t n) {
#if defined(__AVX512F__)
  __m512 a = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) a = _mm512_add_ps(a, _mm512_loadu_ps(s + c));
  if (c < n) a = _mm512_add_ps(a, _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << (n - c)) - 1), s + c));
  return _mm512_reduce_add_ps(a);
#else
  float sum = 0;
  for (int64_t c = 0; c < n; ++c) sum += s[c];
  return sum;
#endif
}
// The dot product of two rows (the backward's delta = rowsum(dO * O)).
inline float row_dot(const float* a, const float* b, int64_t n) {
#if defined(__AVX512F__)
  __m512 acc = _mm512_setzero_ps();
  int64_t c = 0;
  for (; c + 16 <= n; c += 16) acc = _mm512_fmadd_ps(_mm512_loadu_ps(a + c), _mm512_loadu_ps(b + c), acc);
  if (c < n) {
    const __mmask16 tail = static_cast<__mmask16>((1u << (n - c)) - 1);
    acc = _mm512_fmadd_ps(_mm512_maskz_loadu_ps(tail, a + c), _mm512_maskz_loadu_ps(tail, b + c), acc);
  }
  return _mm512_reduce_add_ps(acc);
#else
  float s = 0;
  for (int64_t c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
#endif
}
inline double row_dot(const double* a, const double* b, int64_t n) {
  double s = 0;
  for (int64_t c = 0; c < n; ++c) s += a[c] * b[c];
  return s;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

// s[c] = exp(s[c] - shift) for c < n (0 where s[c] is -inf); returns the
// sum.
inline float exp_shifted(float* s, int64_t n, float shift) {
  for (int64_t c = 0; c < n; ++c) s[c] = exp_f32(s[c] - shift);
  return row_sum(s, n);
}
inline double exp_shifted(double* s, int64_t n, double shift) {
  double sum = 0;
  for (int64_t c = 0; c < n; ++c) {
    s[c] = s[c] == functors::neg_inf<double>() ? 0.0 : std::exp(s[c] - shift);
    sum += s[c];
  }
  return sum;
}

// The additive bias of mask element (b, h, i, j): 0 or -inf for a bool
// mask, the value for a floating one, 0 without a mask.
template <class V>
class MaskReader {
 public:
  explicit MaskReader(const Tensor& mask) {
    if (!mask.defined()) return;
    data_ = mask.raw_data_ptr();
    is_bool_ = mask.dtype() == kBool;
    dtype_ = mask.dtype();
    for (int d = 0; d < 4; ++d) strides_[d] = mask.stride(d);
  }
  bool active() const { return data_ != nullptr; }
  // Offset of row (b, h, i).
  int64_t row(int64_t b, int64_t h, int64_t i) const { return b * strides_[0] + h * strides_[1] + i * strides_[2]; }
  V at(int64_t row_offset, int64_t j) const {
    const int64_t o = row_offset + j * strides_[3];
    if (is_bool_) return static_cast<const bool*>(data_)[o] ? V(0) : functors::neg_inf<V>();
    return visit_floating(dtype_, "scaled_dot_product_attention", [&](auto tag) {
      using M = decltype(tag);
      return static_cast<V>(static_cast<opmath_t<M>>(static_cast<const M*>(data_)[o]));
    });
  }

 private:
  const void* data_ = nullptr;
  bool is_bool_ = false;
  DType dtype_ = kFloat32;
  int64_t strides_[4] = {0, 0, 0, 0};
};

// Scores of queries [i0, i0 + rows) against keys [j0, j0 + cols) of one
// (b, h): S = scale * Q K^T + mask, -inf where causality or the mask hides
// a key. Returns whether any score is finite.
template <class V>
bool scores(const Geometry& g, const detail::AttentionParams& p, const MaskReader<V>& mask, const V* q, int64_t ldq,
            const V* k, int64_t ldk, int64_t b, int64_t h, int64_t i0, int64_t rows, int64_t j0, int64_t cols, V* S) {
  gemm<V>(false, true, rows, cols, g.D, static_cast<V>(p.scale), q + i0 * ldq, ldq, k + j0 * ldk, ldk, V(0), S, cols);
  bool any = false;
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t i = i0 + r;
    V* s = S + r * cols;
    const int64_t visible = p.causal ? std::min<int64_t>(cols, std::max<int64_t>(i - j0 + 1, 0)) : cols;
    for (int64_t c = visible; c < cols; ++c) s[c] = functors::neg_inf<V>();
    if (mask.active()) {
      const int64_t ro = mask.row(b, h, i);
      for (int64_t c = 0; c < visible; ++c) s[c] += mask.at(ro, j0 + c);
    }
    for (int64_t c = 0; c < visible && !any; ++c) any = s[c] != functors::neg_inf<V>();
  }
  return any;
}

// The dropout multiplier of probability (bh, i, j): 0 or 1/(1 - p).
struct Dropout {
  bool active = false;
  float p = 0;
  double keep_scale = 1;
  GeneratorState state;
  int64_t Tq = 0, Tk = 0;
  double factor(int64_t bh, int64_t i, int64_t j) const {
    const uint64_t e = static_cast<uint64_t>((bh * Tq + i) * Tk + j);
    const float u = functors::uniform_float(functors::philox_pair(state.seed, state.offset, e));
    return u >= p ? keep_scale : 0.0;
  }
};
Dropout dropout_of(const Geometry& g, const detail::AttentionParams& p) {
  Dropout d;
  d.active = p.dropout_p > 0;
  d.p = static_cast<float>(p.dropout_p);
  d.keep_scale = p.dropout_p < 1 ? 1.0 / (1.0 - p.dropout_p) : 0.0;
  d.state = p.dropout;
  d.Tq = g.Tq;
  d.Tk = g.Tk;
  return d;
}

// Key tiles a query tile [i0, i0 + rows) needs: all, or those starting at
// or before its last query when causal.
int64_t key_end(const Geometry& g, const detail::AttentionParams& p, int64_t i0, int64_t rows) {
  return p.causal ? std::min<int64_t>(g.Tk, i0 + rows) : g.Tk;
}

int threads_for(int64_t tasks, int64_t work) {
  const int64_t t = work >= kPoolGrain ? pool_threads() : 1;
  return static_cast<int>(std::max<int64_t>(1, std::min<int64_t>(t, tasks)));
}

template <class V>
void forward(const Geometry& g, const Tensor& qt, const Tensor& kt, const Tensor& vt, const Tensor& mask_t,
             const detail::AttentionParams& p, const Tensor& out_t, V* lse) {
  const Rows<const V> Q = rows_of<const V>(qt), K = rows_of<const V>(kt), Vv = rows_of<const V>(vt);
  const Rows<V> out = rows_of<V>(out_t);
  const MaskReader<V> mask(mask_t);
  const Dropout drop = dropout_of(g, p);
  const int64_t q_tiles = (g.Tq + kQTile - 1) / kQTile;
  const int64_t tasks = g.B * g.H * q_tiles;
  const int threads = threads_for(tasks, g.B * g.H * g.Tq * g.Tk * (g.D + g.Dv));
  BlasSingleThread single(true);
  parallel_run(threads, [&](int t) {
    std::vector<V> S(kQTile * kKTile), acc(kQTile * std::max<int64_t>(g.Dv, 1));
    std::vector<functors::MaxSum<V>> stats(kQTile);
    for (int64_t task = tasks * t / threads; task < tasks * (t + 1) / threads; ++task) {
      const int64_t bh = task / q_tiles, i0 = (task % q_tiles) * kQTile;
      const int64_t b = bh / g.H, h = bh % g.H;
      const int64_t rows = std::min(kQTile, g.Tq - i0);
      const V* q = Q.head(bh);
      const V* k = K.head(bh);
      const V* v = Vv.head(bh);
      std::fill(acc.begin(), acc.begin() + rows * g.Dv, V(0));
      std::fill(stats.begin(), stats.begin() + rows, functors::max_sum_identity<V>());
      const int64_t kend = key_end(g, p, i0, rows);
      for (int64_t j0 = 0; j0 < kend; j0 += kKTile) {
        const int64_t cols = std::min(kKTile, kend - j0);
        if (!scores<V>(g, p, mask, q, Q.ld, k, K.ld, b, h, i0, rows, j0, cols, S.data())) continue;
        for (int64_t r = 0; r < rows; ++r) {
          V* s = S.data() + r * cols;
          const V tile_max = row_max(s, cols, functors::neg_inf<V>());
          functors::MaxSum<V>& st = stats[r];
          const V m_new = std::max(st.m, tile_max);
          if (m_new == functors::neg_inf<V>()) {  // nothing visible yet: P is 0
            std::fill(s, s + cols, V(0));
            continue;
          }
          const V alpha = functors::rescale(V(1), st.m, m_new);
          V* a = acc.data() + r * g.Dv;
          if (alpha != V(1))
            for (int64_t d = 0; d < g.Dv; ++d) a[d] *= alpha;
          const V sum = exp_shifted(s, cols, m_new);
          if (drop.active)
            for (int64_t c = 0; c < cols; ++c) s[c] *= static_cast<V>(drop.factor(bh, i0 + r, j0 + c));
          st = functors::MaxSum<V>{m_new, st.s * alpha + sum};
        }
        gemm<V>(false, false, rows, g.Dv, cols, V(1), S.data(), cols, v + j0 * Vv.ld, Vv.ld, V(1), acc.data(), g.Dv);
      }
      for (int64_t r = 0; r < rows; ++r) {
        const functors::MaxSum<V>& st = stats[r];
        V* o = out.row(bh, i0 + r);
        const V inv = st.s > V(0) ? V(1) / st.s : V(0);  // a row no key may see: zeros
        for (int64_t d = 0; d < g.Dv; ++d) o[d] = acc[r * g.Dv + d] * inv;
        lse[bh * g.Tq + i0 + r] = st.s > V(0) ? functors::logsumexp_of(st) : functors::neg_inf<V>();
      }
    }
  });
}

template <class V>
struct BackwardArgs {
  Rows<const V> Q, K, Vv, O, dO;
  const V* lse;
  Rows<V> dQ, dK, dV;  // null data when not wanted
  V* delta;            // [BH * Tq]: rowsum(dO * O)
};

// One (b, h): key tiles [kt0, kt1) x query tiles [qt0, qt1). Adds into dK/dV
// rows of those key tiles when `keys`, into dQ rows of those query tiles
// when `queries` (the caller owns those rows).
template <class V>
void backward_block(const Geometry& g, const detail::AttentionParams& p, const MaskReader<V>& mask, const Dropout& drop,
                    const BackwardArgs<V>& a, int64_t bh, int64_t kt0, int64_t kt1, int64_t qt0, int64_t qt1, bool keys,
                    bool queries, std::vector<V>& S, std::vector<V>& dP) {
  const int64_t b = bh / g.H, h = bh % g.H;
  const V* q = a.Q.head(bh);
  const V* k = a.K.head(bh);
  const V* v = a.Vv.head(bh);
  const V* dO = a.dO.head(bh);
  const int64_t ldq = a.Q.ld, ldk = a.K.ld, ldv = a.Vv.ld, lddo = a.dO.ld;
  const V* lse = a.lse + bh * g.Tq;
  const V* delta = a.delta + bh * g.Tq;
  const V scale = static_cast<V>(p.scale);
  for (int64_t kt = kt0; kt < kt1; ++kt) {
    const int64_t j0 = kt * kKTile, cols = std::min(kKTile, g.Tk - j0);
    for (int64_t qt = qt0; qt < qt1; ++qt) {
      const int64_t i0 = qt * kQTile, rows = std::min(kQTile, g.Tq - i0);
      if (p.causal && j0 > i0 + rows - 1) continue;  // every key of the tile is hidden
      if (!scores<V>(g, p, mask, q, ldq, k, ldk, b, h, i0, rows, j0, cols, S.data())) continue;
      // P = exp(S - lse); dP = dO V^T (the gradient of the dropped probabilities).
      gemm<V>(false, true, rows, cols, g.Dv, V(1), dO + i0 * lddo, lddo, v + j0 * ldv, ldv, V(0), dP.data(), cols);
      for (int64_t r = 0; r < rows; ++r) {
        const V l = lse[i0 + r], dl = delta[i0 + r];
        V* s = S.data() + r * cols;
        V* dp = dP.data() + r * cols;
        if (l == functors::neg_inf<V>()) {  // a query that sees no key: no gradient
          std::fill(s, s + cols, V(0));
          std::fill(dp, dp + cols, V(0));
          continue;
        }
        exp_shifted(s, cols, l);  // s becomes P = exp(S - lse)
        if (drop.active) {
          for (int64_t c = 0; c < cols; ++c) {
            const V f = static_cast<V>(drop.factor(bh, i0 + r, j0 + c));
            // s becomes the dropped probability (for dV), dp the score gradient dS.
            dp[c] = s[c] * (dp[c] * f - dl);
            s[c] *= f;
          }
        } else {
          for (int64_t c = 0; c < cols; ++c) dp[c] = s[c] * (dp[c] - dl);
        }
      }
      if (keys) {
        if (a.dV.data) gemm<V>(true, false, cols, g.Dv, rows, V(1), S.data(), cols, dO + i0 * lddo, lddo, V(1),
                               a.dV.row(bh, j0), a.dV.ld);
        if (a.dK.data) gemm<V>(true, false, cols, g.D, rows, scale, dP.data(), cols, q + i0 * ldq, ldq, V(1),
                               a.dK.row(bh, j0), a.dK.ld);
      }
      if (queries && a.dQ.data)
        gemm<V>(false, false, rows, g.D, cols, scale, dP.data(), cols, k + j0 * ldk, ldk, V(1), a.dQ.row(bh, i0),
                a.dQ.ld);
    }
  }
}

template <class V>
void backward(const Geometry& g, const detail::AttentionParams& p, const Tensor& mask_t, const BackwardArgs<V>& a) {
  const MaskReader<V> mask(mask_t);
  const Dropout drop = dropout_of(g, p);
  const int64_t BH = g.B * g.H;
  const int64_t q_tiles = (g.Tq + kQTile - 1) / kQTile, k_tiles = (g.Tk + kKTile - 1) / kKTile;
  // delta = rowsum(dO * O) and zeroed gradients, (b, h) pairs over the pool
  // (on the calling thread alone they were most of char_gpt's attention
  // time outside its products).
  auto zero_rows = [](const Rows<V>& r, int64_t bh, int64_t T, int64_t D) {
    if (r.data)
      for (int64_t t = 0; t < T; ++t) std::fill(r.row(bh, t), r.row(bh, t) + D, V(0));
  };
  parallel_ranges(BH, BH * (g.Tq * (g.Dv + g.D) + g.Tk * (g.D + g.Dv)), [&](int64_t bh_begin, int64_t bh_end) {
    for (int64_t bh = bh_begin; bh < bh_end; ++bh) {
      for (int64_t t = 0; t < g.Tq; ++t) {
        a.delta[bh * g.Tq + t] = row_dot(a.dO.row(bh, t), a.O.row(bh, t), g.Dv);
      }
      zero_rows(a.dQ, bh, g.Tq, g.D);
      zero_rows(a.dK, bh, g.Tk, g.D);
      zero_rows(a.dV, bh, g.Tk, g.Dv);
    }
  });
  const int64_t work = BH * g.Tq * g.Tk * (g.D + g.Dv) * 2;
  const int whole = threads_for(BH, work);
  BlasSingleThread single(true);
  auto scratch = [] { return std::vector<V>(kQTile * kKTile); };
  // Whole (b, h) pairs per thread unless there are fewer pairs than threads.
  if (whole == threads_for(BH * std::max(q_tiles, k_tiles), work)) {
    parallel_run(whole, [&](int t) {
      std::vector<V> S = scratch(), dP = scratch();
      for (int64_t bh = BH * t / whole; bh < BH * (t + 1) / whole; ++bh)
        backward_block<V>(g, p, mask, drop, a, bh, 0, k_tiles, 0, q_tiles, true, true, S, dP);
    });
    return;
  }
  // Fewer (b, h) pairs than threads: dK/dV by key tiles, then dQ by query tiles.
  const int64_t key_tasks = BH * k_tiles, query_tasks = BH * q_tiles;
  const int tk = threads_for(key_tasks, work), tq = threads_for(query_tasks, work);
  if (a.dK.data || a.dV.data)
    parallel_run(tk, [&](int t) {
      std::vector<V> S = scratch(), dP = scratch();
      for (int64_t task = key_tasks * t / tk; task < key_tasks * (t + 1) / tk; ++task) {
        const int64_t bh = task / k_tiles, kt = task % k_tiles;
        backward_block<V>(g, p, mask, drop, a, bh, kt, kt + 1, 0, q_tiles, true, false, S, dP);
      }
    });
  if (a.dQ.data)
    parallel_run(tq, [&](int t) {
      std::vector<V> S = scratch(), dP = scratch();
      for (int64_t task = query_tasks * t / tq; task < query_tasks * (t + 1) / tq; ++task) {
        const int64_t bh = task / q_tiles, qt = task % q_tiles;
        backward_block<V>(g, p, mask, drop, a, bh, 0, k_tiles, qt, qt + 1, false, true, S, dP);
      }
    });
}

Geometry geometry_of(const Tensor& q, const Tensor& k, const Tensor& v) {
  return Geometry{q.size(0), q.size(1), q.size(2), k.size(2), q.size(3), v.size(3)};
}

// f16/bf16 tensors as f32 copies (the backend's own copy); others as they are.
Tensor widened(CpuBackend& be, const Tensor& t) {
  if (!t.defined() || t.dtype() == kFloat32 || t.dtype() == kFloat64) return t;
  Tensor w = detail::make_empty(t.sizes(), kFloat32, t.device());
  be.copy(t, w);
  return w;
}

}  // namespace

void CpuBackend::attention_forward(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                                   const detail::AttentionParams& p, Tensor& out, Tensor& lse) {
  const Geometry g = geometry_of(q, k, v);
  if (q.dtype() == kFloat64) {
    forward<double>(g, q, k, v, mask, p, out, static_cast<double*>(lse.raw_data_ptr()));
    return;
  }
  visit_floating(q.dtype(), "scaled_dot_product_attention", [](auto) {});  // the dtype check
  const bool narrow = q.dtype() != kFloat32;
  Tensor o32 = narrow ? detail::make_empty(out.sizes(), kFloat32, out.device()) : out;
  forward<float>(g, widened(*this, q), widened(*this, k), widened(*this, v), mask, p, o32,
                 static_cast<float*>(lse.raw_data_ptr()));
  if (narrow) copy(o32, out);
}

void CpuBackend::attention_backward(const Tensor& gout, const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& mask, const Tensor& out, const Tensor& lse,
                                    const detail::AttentionParams& p, Tensor& gq, Tensor& gk, Tensor& gv) {
  const Geometry g = geometry_of(q, k, v);
  auto run = [&](auto tag, const Tensor& q_, const Tensor& k_, const Tensor& v_, const Tensor& o_, const Tensor& go_,
                 Tensor& gq_, Tensor& gk_, Tensor& gv_) {
    using V = decltype(tag);
    std::vector<V> delta(static_cast<size_t>(g.B * g.H * g.Tq));
    BackwardArgs<V> a{rows_of<const V>(q_),  rows_of<const V>(k_),  rows_of<const V>(v_),
                      rows_of<const V>(o_),  rows_of<const V>(go_), static_cast<const V*>(lse.raw_data_ptr()),
                      rows_of<V>(gq_),       rows_of<V>(gk_),       rows_of<V>(gv_),
                      delta.data()};
    backward<V>(g, p, mask, a);
  };
  if (q.dtype() == kFloat64) {
    run(double{}, q, k, v, out, gout, gq, gk, gv);
    return;
  }
  visit_floating(q.dtype(), "scaled_dot_product_attention_backward", [](auto) {});
  if (q.dtype() == kFloat32) {
    run(float{}, q, k, v, out, gout, gq, gk, gv);
    return;
  }
  auto f32_like = [](const Tensor& t) {
    return t.defined() ? detail::make_empty(t.sizes(), kFloat32, t.device()) : Tensor();
  };
  Tensor gq32 = f32_like(gq), gk32 = f32_like(gk), gv32 = f32_like(gv);
  run(float{}, widened(*this, q), widened(*this, k), widened(*this, v), widened(*this, out), widened(*this, gout), gq32,
      gk32, gv32);
  if (gq.defined()) copy(gq32, gq);
  if (gk.defined()) copy(gk32, gk);
  if (gv.defined()) copy(gv32, gv);
}

}  // namespace kiln::cpu
