// CPU max/avg pooling over NCHW planes. Every (n, c) plane is independent,
// so threads split the N*C planes (max pool: cpu/parallel.h; avg: OpenMP);
// the inner loops walk contiguous rows.
// f16/bf16 compute in float (opmath) and round the result once.
#include <algorithm>
#include <cmath>
#include <type_traits>
#if defined(__AVX512F__)
#include <immintrin.h>
#elif defined(__SSE2__)
#include <emmintrin.h>
#endif
#include <limits>

#include "cpu/cpu_backend.h"
#include "cpu/loops.h"
#include "cpu/parallel.h"

namespace kiln::cpu {

namespace {

struct PlaneGeometry {
  int64_t planes, H, W, Ho, Wo;
};
PlaneGeometry geometry(const Tensor& x, const Tensor& y) {
  return {x.size(0) * x.size(1), x.size(2), x.size(3), y.size(2), y.size(3)};
}

// The common 2x2, stride 2, unpadded window that lies wholly inside the
// input: four loads per output and selects instead of unpredictable branches
// (the generic loop below spends most of its time mispredicting `v > best` on
// real activations). Same result and tie/NaN rules as the generic loop: the
// first maximum in row-major window order wins, the first NaN wins over all.
#if defined(__AVX512F__)
// Sixteen outputs of one 2x2 output row at a time, the row's tail under a
// mask (no scalar loop: the 14x14 layer's rows are 7 outputs long); returns
// how many outputs it wrote (all). The lanes follow the scalar rule below.
// GCC 12 warns inside its own intrinsics' headers (their "undefined"
// pass-through registers) when they are inlined here.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
int64_t max_pool_2x2_row_avx512(const float* r0, const float* r1, int64_t W, int64_t Wo, int64_t base, float* y,
                                int64_t* idx) {
  const __m512i even = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
  const __m512i odd = _mm512_add_epi32(even, _mm512_set1_epi32(1));
  for (int64_t ow = 0; ow < Wo; ow += 16) {
    const int64_t n = std::min<int64_t>(16, Wo - ow);
    // Inputs 2*ow .. 2*ow + 2n - 1 of each row, in two registers of 16.
    const auto first = static_cast<__mmask16>(n >= 8 ? 0xFFFFu : (1u << (2 * n)) - 1);
    const auto second = static_cast<__mmask16>(n > 8 ? (1u << (2 * (n - 8))) - 1 : 0u);
    const __m512 t0 = _mm512_maskz_loadu_ps(first, r0 + 2 * ow), t1 = _mm512_maskz_loadu_ps(second, r0 + 2 * ow + 16);
    const __m512 u0 = _mm512_maskz_loadu_ps(first, r1 + 2 * ow), u1 = _mm512_maskz_loadu_ps(second, r1 + 2 * ow + 16);
    __m512 best = _mm512_permutex2var_ps(t0, even, t1);
    __m512i off = _mm512_setzero_si512();
    auto take = [&](__m512 v, int32_t o) {
      const __mmask16 nan_over_number =
          _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q) & _mm512_cmp_ps_mask(best, best, _CMP_ORD_Q);
      const __mmask16 t = _mm512_cmp_ps_mask(v, best, _CMP_GT_OQ) | nan_over_number;
      best = _mm512_mask_mov_ps(best, t, v);
      off = _mm512_mask_mov_epi32(off, t, _mm512_set1_epi32(o));
    };
    take(_mm512_permutex2var_ps(t0, odd, t1), 1);
    take(_mm512_permutex2var_ps(u0, even, u1), static_cast<int32_t>(W));
    take(_mm512_permutex2var_ps(u0, odd, u1), static_cast<int32_t>(W + 1));
    const auto out = static_cast<__mmask16>((1u << n) - 1);
    _mm512_mask_storeu_ps(y + ow, out, best);
    // Index = base + 2*ow + 2*lane + window offset, widened to int64.
    const __m512i rel = _mm512_add_epi32(off, even);
    const __m512i start = _mm512_set1_epi64(base + 2 * ow);
    _mm512_mask_storeu_epi64(idx + ow, static_cast<__mmask8>(out),
                             _mm512_add_epi64(start, _mm512_cvtepi32_epi64(_mm512_castsi512_si256(rel))));
    _mm512_mask_storeu_epi64(idx + ow + 8, static_cast<__mmask8>(out >> 8),
                             _mm512_add_epi64(start, _mm512_cvtepi32_epi64(_mm512_extracti64x4_epi64(rel, 1))));
  }
  return Wo;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#elif defined(__SSE2__)
// Four outputs of one 2x2 output row at a time (x86-64 always has SSE2);
// returns how many outputs it wrote. The lanes follow the scalar rule below.
int64_t max_pool_2x2_row_sse(const float* r0, const float* r1, int64_t W, int64_t Wo, int64_t base, float* y,
                             int64_t* idx) {
  int64_t ow = 0;
  const __m128i lane = _mm_set_epi32(6, 4, 2, 0);
  for (; ow + 4 <= Wo; ow += 4) {
    const __m128 t0 = _mm_loadu_ps(r0 + 2 * ow), t1 = _mm_loadu_ps(r0 + 2 * ow + 4);
    const __m128 u0 = _mm_loadu_ps(r1 + 2 * ow), u1 = _mm_loadu_ps(r1 + 2 * ow + 4);
    __m128 best = _mm_shuffle_ps(t0, t1, _MM_SHUFFLE(2, 0, 2, 0));
    __m128i off = _mm_setzero_si128();
    auto take = [&](__m128 v, int32_t o) {
      const __m128 nan_over_number = _mm_and_ps(_mm_cmpunord_ps(v, v), _mm_cmpord_ps(best, best));
      const __m128 t = _mm_or_ps(_mm_cmpgt_ps(v, best), nan_over_number);
      best = _mm_or_ps(_mm_and_ps(t, v), _mm_andnot_ps(t, best));
      const __m128i ti = _mm_castps_si128(t);
      off = _mm_or_si128(_mm_and_si128(ti, _mm_set1_epi32(o)), _mm_andnot_si128(ti, off));
    };
    take(_mm_shuffle_ps(t0, t1, _MM_SHUFFLE(3, 1, 3, 1)), 1);
    take(_mm_shuffle_ps(u0, u1, _MM_SHUFFLE(2, 0, 2, 0)), static_cast<int32_t>(W));
    take(_mm_shuffle_ps(u0, u1, _MM_SHUFFLE(3, 1, 3, 1)), static_cast<int32_t>(W + 1));
    _mm_storeu_ps(y + ow, best);
    // Index = base + 2*ow + lane offset + window offset, widened to int64.
    const __m128i rel = _mm_add_epi32(off, lane);
    const __m128i start = _mm_set1_epi64x(base + 2 * ow);
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + ow),
                     _mm_add_epi64(start, _mm_unpacklo_epi32(rel, _mm_setzero_si128())));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(idx + ow + 2),
                     _mm_add_epi64(start, _mm_unpackhi_epi32(rel, _mm_setzero_si128())));
  }
  return ow;
}
#endif

template <class T>
void max_pool_fwd_2x2(const T* xp, const PlaneGeometry& g, T* yp, int64_t* ip) {
  using acc_t = opmath_t<T>;
  const int64_t plane_out = g.Ho * g.Wo;
  parallel_ranges(g.planes, g.planes * plane_out * 4, [&](int64_t plane_begin, int64_t plane_end) {
    for (int64_t plane = plane_begin; plane < plane_end; ++plane) {
      const T* xpl = xp + plane * g.H * g.W;
      T* ypl = yp + plane * plane_out;
      int64_t* ipl = ip + plane * plane_out;
      for (int64_t oh = 0; oh < g.Ho; ++oh) {
        const T* r0 = xpl + (2 * oh) * g.W;
        const T* r1 = r0 + g.W;
        const int64_t base = 2 * oh * g.W;
        int64_t ow = 0;
#if defined(__AVX512F__)
        if constexpr (std::is_same_v<T, float>)
          ow = max_pool_2x2_row_avx512(r0, r1, g.W, g.Wo, base, ypl + oh * g.Wo, ipl + oh * g.Wo);
#elif defined(__SSE2__)
        if constexpr (std::is_same_v<T, float>)
          ow = max_pool_2x2_row_sse(r0, r1, g.W, g.Wo, base, ypl + oh * g.Wo, ipl + oh * g.Wo);
#endif
        for (; ow < g.Wo; ++ow) {
          acc_t best = static_cast<acc_t>(r0[2 * ow]);
          int64_t off = 0;
          // Takes v when it is larger, or NaN while best is not yet NaN.
          auto take = [&](acc_t v, int64_t o) {
            const bool t = v > best || (v != v && best == best);
            best = t ? v : best;
            off = t ? o : off;
          };
          take(static_cast<acc_t>(r0[2 * ow + 1]), 1);
          take(static_cast<acc_t>(r1[2 * ow]), g.W);
          take(static_cast<acc_t>(r1[2 * ow + 1]), g.W + 1);
          ypl[oh * g.Wo + ow] = static_cast<T>(best);
          ipl[oh * g.Wo + ow] = base + 2 * ow + off;
        }
      }
    }
  });
}

template <class T>
void max_pool_fwd(const Tensor& x, const detail::Pool2dParams& p, Tensor& out, Tensor& indices) {
  using acc_t = opmath_t<T>;
  const PlaneGeometry g = geometry(x, out);
  if (p.kernel[0] == 2 && p.kernel[1] == 2 && p.stride[0] == 2 && p.stride[1] == 2 && p.padding[0] == 0 &&
      p.padding[1] == 0 && 2 * g.Ho <= g.H && 2 * g.Wo <= g.W) {
    return max_pool_fwd_2x2<T>(x.data_ptr<T>(), g, out.data_ptr<T>(), indices.data_ptr<int64_t>());
  }
  const T* xp = x.data_ptr<T>();
  T* yp = out.data_ptr<T>();
  int64_t* ip = indices.data_ptr<int64_t>();
  // Plain variables, not structured bindings: C++17 does not let the OpenMP
  // region below (an outlined lambda under clang) capture a binding.
  const int64_t kh = p.kernel[0], kw = p.kernel[1];
  const int64_t sh = p.stride[0], sw = p.stride[1];
  const int64_t ph = p.padding[0], pw = p.padding[1];
#pragma omp parallel for schedule(static) if (g.planes * g.Ho * g.Wo * kh * kw > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    const T* xpl = xp + plane * g.H * g.W;
    T* ypl = yp + plane * g.Ho * g.Wo;
    int64_t* ipl = ip + plane * g.Ho * g.Wo;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      const int64_t hs = std::max<int64_t>(oh * sh - ph, 0), he = std::min<int64_t>(oh * sh - ph + kh, g.H);
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const int64_t ws = std::max<int64_t>(ow * sw - pw, 0), we = std::min<int64_t>(ow * sw - pw + kw, g.W);
        acc_t best = -std::numeric_limits<acc_t>::infinity();
        int64_t best_i = hs * g.W + ws;
        for (int64_t h = hs; h < he; ++h) {
          for (int64_t w = ws; w < we; ++w) {
            const acc_t v = static_cast<acc_t>(xpl[h * g.W + w]);
            if (v > best || std::isnan(v)) {  // NaN propagates, as in PyTorch
              best = v;
              best_i = h * g.W + w;
              if (std::isnan(v)) goto done;
            }
          }
        }
      done:
        ypl[oh * g.Wo + ow] = static_cast<T>(best);
        ipl[oh * g.Wo + ow] = best_i;
      }
    }
  }
}

template <class T>
void max_pool_bwd(const Tensor& gy, const Tensor& indices, Tensor& gx) {
  using acc_t = opmath_t<T>;
  const int64_t planes = gx.size(0) * gx.size(1), HW = gx.size(2) * gx.size(3);
  const int64_t out_hw = gy.size(2) * gy.size(3);
  const T* gyp = gy.data_ptr<T>();
  const int64_t* ip = indices.data_ptr<int64_t>();
  T* gxp = gx.data_ptr<T>();
  parallel_ranges(planes, planes * HW, [&](int64_t plane_begin, int64_t plane_end) {
    for (int64_t plane = plane_begin; plane < plane_end; ++plane) {
      T* gpl = gxp + plane * HW;
      if constexpr (std::is_same_v<T, acc_t>) {
        for (int64_t i = 0; i < HW; ++i) gpl[i] = T(0);
        for (int64_t i = 0; i < out_hw; ++i) gpl[ip[plane * out_hw + i]] += gyp[plane * out_hw + i];
      } else {
        std::vector<acc_t> acc(static_cast<size_t>(HW), acc_t(0));
        for (int64_t i = 0; i < out_hw; ++i)
          acc[static_cast<size_t>(ip[plane * out_hw + i])] += static_cast<acc_t>(gyp[plane * out_hw + i]);
        for (int64_t i = 0; i < HW; ++i) gpl[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
      }
    }
  });
}

// The window of output (oh, ow) clipped to the input, and its divisor.
struct AvgWindow {
  int64_t hs, he, ws, we, divisor;
};
inline AvgWindow avg_window(const detail::Pool2dParams& p, int64_t H, int64_t W, int64_t oh, int64_t ow) {
  int64_t hs = oh * p.stride[0] - p.padding[0], ws = ow * p.stride[1] - p.padding[1];
  int64_t he = std::min(hs + p.kernel[0], H + p.padding[0]), we = std::min(ws + p.kernel[1], W + p.padding[1]);
  const int64_t padded_size = (he - hs) * (we - ws);
  hs = std::max<int64_t>(hs, 0);
  ws = std::max<int64_t>(ws, 0);
  he = std::min(he, H);
  we = std::min(we, W);
  const int64_t divisor = p.count_include_pad ? padded_size : (he - hs) * (we - ws);
  return {hs, he, ws, we, divisor};
}

template <class T>
void avg_pool_fwd(const Tensor& x, const detail::Pool2dParams& p, Tensor& out) {
  using acc_t = opmath_t<T>;
  const PlaneGeometry g = geometry(x, out);
  const T* xp = x.data_ptr<T>();
  T* yp = out.data_ptr<T>();
#pragma omp parallel for schedule(static) if (g.planes * g.Ho * g.Wo * p.kernel[0] * p.kernel[1] > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    const T* xpl = xp + plane * g.H * g.W;
    T* ypl = yp + plane * g.Ho * g.Wo;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const AvgWindow win = avg_window(p, g.H, g.W, oh, ow);
        acc_t s = 0;
        for (int64_t h = win.hs; h < win.he; ++h)
          for (int64_t w = win.ws; w < win.we; ++w) s += static_cast<acc_t>(xpl[h * g.W + w]);
        ypl[oh * g.Wo + ow] = static_cast<T>(win.divisor > 0 ? s / static_cast<acc_t>(win.divisor) : acc_t(0));
      }
    }
  }
}

template <class T>
void avg_pool_bwd(const Tensor& gy, const detail::Pool2dParams& p, Tensor& gx) {
  using acc_t = opmath_t<T>;
  const PlaneGeometry g = geometry(gx, gy);
  const T* gyp = gy.data_ptr<T>();
  T* gxp = gx.data_ptr<T>();
#pragma omp parallel for schedule(static) if (g.planes * g.H * g.W > kParallelGrain)
  for (int64_t plane = 0; plane < g.planes; ++plane) {
    std::vector<acc_t> acc(static_cast<size_t>(g.H * g.W), acc_t(0));
    const T* gpl = gyp + plane * g.Ho * g.Wo;
    for (int64_t oh = 0; oh < g.Ho; ++oh) {
      for (int64_t ow = 0; ow < g.Wo; ++ow) {
        const AvgWindow win = avg_window(p, g.H, g.W, oh, ow);
        if (win.divisor <= 0) continue;
        const acc_t v = static_cast<acc_t>(gpl[oh * g.Wo + ow]) / static_cast<acc_t>(win.divisor);
        for (int64_t h = win.hs; h < win.he; ++h)
          for (int64_t w = win.ws; w < win.we; ++w) acc[static_cast<size_t>(h * g.W + w)] += v;
      }
    }
    T* xpl = gxp + plane * g.H * g.W;
    for (int64_t i = 0; i < g.H * g.W; ++i) xpl[i] = static_cast<T>(acc[static_cast<size_t>(i)]);
  }
}

}  // namespace

void CpuBackend::max_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out, Tensor& indices) {
  visit_floating(x.dtype(), "max_pool2d", [&](auto t) { max_pool_fwd<decltype(t)>(x, p, out, indices); });
}

void CpuBackend::max_pool2d_backward(const Tensor& gy, const Tensor& indices, Tensor& gx) {
  visit_floating(gy.dtype(), "max_pool2d_backward", [&](auto t) { max_pool_bwd<decltype(t)>(gy, indices, gx); });
}

void CpuBackend::avg_pool2d_forward(const Tensor& x, const detail::Pool2dParams& p, Tensor& out) {
  visit_floating(x.dtype(), "avg_pool2d", [&](auto t) { avg_pool_fwd<decltype(t)>(x, p, out); });
}

void CpuBackend::avg_pool2d_backward(const Tensor& gy, const detail::Pool2dParams& p, Tensor& gx) {
  visit_floating(gy.dtype(), "avg_pool2d_backward", [&](auto t) { avg_pool_bwd<decltype(t)>(gy, p, gx); });
}

}  // namespace kiln::cpu
