// CPU 2-D convolution. NCHW input, OIHW weight, both contiguous.
//
// im2col path (f32, f64): for each sample n and group g, the receptive
// fields of x[n, g] are unrolled into col [K = C/g*kh*kw, Ho*Wo] and
//   forward:        y[n,g]  = W_g [O/g, K] @ col                (+ bias)
//   grad weight:    gW_g   += gy[n,g] [O/g, HoWo] @ col^T
//   grad input:     gcol    = W_g^T @ gy[n,g], folded back by col2im (+=)
// Samples are spread over threads (cpu/parallel.h: its idle threads block
// instead of spinning) with single-threaded sgemm calls, so each thread's
// col (K*Ho*Wo, ~225 KB for the 32->64 3x3 layer on 14x14) stays in its L2;
// weight gradients go to per-thread partial sums added at the end.
// A 1x1, stride 1, unpadded convolution uses x itself as col.
//
// oneDNN path (f32 only, conv2d_onednn_cpu.cpp): oneDNN's own primitives.
//
// Which one runs a float32 convolution is timed at first use, per geometry
// and pass; see default_conv_impl() below for why and for the numbers.
#include "cpu/conv2d_cpu.h"

#include <omp.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <iomanip>
#include <iostream>
#include <map>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/tensor_impl.h"
#include "cpu/blas_threads.h"
#include "cpu/cpu_backend.h"
#include "cpu/gemm.h"
#include "cpu/lane_sum.h"
#include "cpu/parallel.h"

namespace kiln::cpu {

namespace {

struct ConvGeometry {
  int64_t N, C, H, W, O, kh, kw, Ho, Wo, G, Cg, Og, K, HWo;
  int64_t sh, sw, ph, pw, dh, dw;
  bool pointwise;  // 1x1, stride 1, no padding: col is x itself
  bool shifted;    // stride 1, undilated, output as large as the input: see Shift
};

ConvGeometry geometry(const Tensor& x, const Tensor& w, const Tensor& y, const detail::Conv2dParams& p) {
  ConvGeometry g{};
  g.N = x.size(0), g.C = x.size(1), g.H = x.size(2), g.W = x.size(3);
  g.O = w.size(0), g.kh = w.size(2), g.kw = w.size(3);
  g.Ho = y.size(2), g.Wo = y.size(3);
  g.G = p.groups, g.Cg = g.C / g.G, g.Og = g.O / g.G;
  g.K = g.Cg * g.kh * g.kw, g.HWo = g.Ho * g.Wo;
  g.sh = p.stride[0], g.sw = p.stride[1], g.ph = p.padding[0], g.pw = p.padding[1];
  g.dh = p.dilation[0], g.dw = p.dilation[1];
  g.pointwise = g.kh == 1 && g.kw == 1 && g.sh == 1 && g.sw == 1 && g.ph == 0 && g.pw == 0;
  g.shifted = g.sh == 1 && g.sw == 1 && g.dh == 1 && g.dw == 1 && g.Ho == g.H && g.Wo == g.W && g.ph < g.H &&
              g.pw < g.W && g.kh - 1 - g.ph < g.H && g.kw - 1 - g.pw < g.W;
  return g;
}

// A stride-1, undilated convolution whose output is as large as its input
// (3x3 with padding 1): each row of col, seen as [Ho*Wo], is the input plane
// shifted by dy = i - ph rows and dx = j - pw columns. So one copy fills the
// rows that stay inside the plane, and a few zeros go where the shift
// wrapped around a row's end; instead of a copy per output row (14 floats
// for a 14x14 layer, where the calls cost more than the copying).
struct Shift {
  int64_t dy, dx;
  int64_t oh_lo, oh_hi;  // output rows whose input row is inside the plane
  int64_t begin, end;    // the one run of col that is copied: [begin, end)
};
Shift shift_of(const ConvGeometry& g, int64_t i, int64_t j) {
  Shift s{i - g.ph, j - g.pw, 0, 0, 0, 0};
  s.oh_lo = std::max<int64_t>(0, -s.dy);
  s.oh_hi = std::max(s.oh_lo, std::min(g.H, g.H - s.dy));
  // Leaving out the wrapped first (dx < 0) or last (dx > 0) elements keeps
  // the source inside the plane.
  s.begin = s.oh_lo * g.W + std::max<int64_t>(0, -s.dx);
  s.end = std::max(s.begin, s.oh_hi * g.W - std::max<int64_t>(0, s.dx));
  return s;
}
// The wrapped columns of rows [oh_lo, oh_hi) of a col row: zeroed.
template <class T>
void zero_wrapped_columns(const ConvGeometry& g, const Shift& s, T* row) {
  if (s.dx == 0) return;
  const int64_t lo = s.dx < 0 ? 0 : g.W - s.dx, hi = s.dx < 0 ? -s.dx : g.W;
  for (int64_t oh = s.oh_lo; oh < s.oh_hi; ++oh)
    for (int64_t ow = lo; ow < hi; ++ow) row[oh * g.W + ow] = T(0);
}

template <class T>
void im2col_shifted(const T* xg, const ConvGeometry& g, T* col) {
  const int64_t HW = g.H * g.W;
  for (int64_t c = 0; c < g.Cg; ++c) {
    const T* plane = xg + c * HW;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * HW;
        const Shift s = shift_of(g, i, j);
        std::memset(row, 0, sizeof(T) * static_cast<size_t>(s.oh_lo * g.W));
        std::memset(row + s.oh_hi * g.W, 0, sizeof(T) * static_cast<size_t>((g.H - s.oh_hi) * g.W));
        std::memcpy(row + s.begin, plane + (s.begin + s.dy * g.W + s.dx),
                    sizeof(T) * static_cast<size_t>(s.end - s.begin));
        zero_wrapped_columns(g, s, row);
      }
    }
  }
}

// The adjoint: the wrapped entries of col (gradients of padding) are zeroed
// in place first, so that one contiguous add per row of col drops them.
// Each input element gets the same additions in the same order as
// col2im_add's, so the sums are the same bit for bit.
template <class T>
void col2im_add_shifted(T* col, const ConvGeometry& g, T* xg) {
  const int64_t HW = g.H * g.W;
  for (int64_t c = 0; c < g.Cg; ++c) {
    T* plane = xg + c * HW;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * HW;
        const Shift s = shift_of(g, i, j);
        zero_wrapped_columns(g, s, row);
        const int64_t off = s.dy * g.W + s.dx;  // row[e] belongs to plane[e + off]
        for (int64_t e = s.begin; e < s.end; ++e) plane[e + off] += row[e];
      }
    }
  }
}

// Unrolls the Cg input planes at xg into col [K, Ho*Wo]; padding reads 0.
template <class T>
void im2col(const T* xg, const ConvGeometry& g, T* col) {
  if (g.shifted) return im2col_shifted(xg, g, col);
  for (int64_t c = 0; c < g.Cg; ++c) {
    const T* plane = xg + c * g.H * g.W;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        T* row = col + ((c * g.kh + i) * g.kw + j) * g.HWo;
        const int64_t w_off = j * g.dw - g.pw;
        // Output columns whose input column lies inside [0, W).
        int64_t ow_lo = w_off >= 0 ? 0 : (-w_off + g.sw - 1) / g.sw;
        int64_t ow_hi = (g.W - w_off + g.sw - 1) / g.sw;  // first ow with iw >= W
        ow_lo = std::min(ow_lo, g.Wo);
        ow_hi = std::max(std::min(ow_hi, g.Wo), ow_lo);
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          T* out = row + oh * g.Wo;
          if (ih < 0 || ih >= g.H) {
            std::memset(out, 0, sizeof(T) * static_cast<size_t>(g.Wo));
            continue;
          }
          const T* in = plane + ih * g.W + w_off;
          for (int64_t ow = 0; ow < ow_lo; ++ow) out[ow] = T(0);
          if (g.sw == 1) {
            std::memcpy(out + ow_lo, in + ow_lo, sizeof(T) * static_cast<size_t>(ow_hi - ow_lo));
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow] = in[ow * g.sw];
          }
          for (int64_t ow = ow_hi; ow < g.Wo; ++ow) out[ow] = T(0);
        }
      }
    }
  }
}

// Adds col [K, Ho*Wo] back into the Cg planes at xg (the adjoint of
// im2col); col is scratch, which the shifted version overwrites in part.
template <class T>
void col2im_add(T* col, const ConvGeometry& g, T* xg) {
  if (g.shifted) return col2im_add_shifted(col, g, xg);
  for (int64_t c = 0; c < g.Cg; ++c) {
    T* plane = xg + c * g.H * g.W;
    for (int64_t i = 0; i < g.kh; ++i) {
      for (int64_t j = 0; j < g.kw; ++j) {
        const T* row = col + ((c * g.kh + i) * g.kw + j) * g.HWo;
        const int64_t w_off = j * g.dw - g.pw;
        int64_t ow_lo = w_off >= 0 ? 0 : (-w_off + g.sw - 1) / g.sw;
        int64_t ow_hi = (g.W - w_off + g.sw - 1) / g.sw;
        ow_lo = std::min(ow_lo, g.Wo);
        ow_hi = std::max(std::min(ow_hi, g.Wo), ow_lo);
        for (int64_t oh = 0; oh < g.Ho; ++oh) {
          const int64_t ih = oh * g.sh - g.ph + i * g.dh;
          if (ih < 0 || ih >= g.H) continue;
          const T* in = row + oh * g.Wo;
          T* out = plane + ih * g.W + w_off;
          if (g.sw == 1) {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow] += in[ow];
          } else {
            for (int64_t ow = ow_lo; ow < ow_hi; ++ow) out[ow * g.sw] += in[ow];
          }
        }
      }
    }
  }
}

// Parallelising over samples pays when there are at least as many samples as threads.
bool split_samples(int64_t N) { return N >= 2 && omp_get_max_threads() > 1; }

template <class T>
void forward_im2col(const Tensor& x, const Tensor& w, const Tensor& b, const detail::Conv2dParams& p, Tensor& y) {
  const ConvGeometry g = geometry(x, w, y, p);
  const T* xp = x.data_ptr<T>();
  const T* wp = w.data_ptr<T>();
  const T* bp = b.defined() ? b.data_ptr<T>() : nullptr;
  T* yp = y.data_ptr<T>();
  const bool par = split_samples(g.N);
  const int threads = par ? pool_threads() : 1;
  BlasSingleThread single(par);
  parallel_run(threads, [&](int t) {
    std::vector<T> col(g.pointwise ? 0 : static_cast<size_t>(g.K * g.HWo));
    const int64_t per = (g.N + threads - 1) / threads, n_end = std::min(g.N, (t + 1) * per);
    for (int64_t n = t * per; n < n_end; ++n) {
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const T* xg = xp + (n * g.C + grp * g.Cg) * g.H * g.W;
        T* yg = yp + (n * g.O + grp * g.Og) * g.HWo;
        const T* cp = xg;
        if (!g.pointwise) {
          im2col(xg, g, col.data());
          cp = col.data();
        }
        T beta = 0;
        if (bp) {
          for (int64_t o = 0; o < g.Og; ++o) {
            const T v = bp[grp * g.Og + o];
            T* row = yg + o * g.HWo;
            for (int64_t i = 0; i < g.HWo; ++i) row[i] = v;
          }
          beta = 1;
        }
        gemm(false, false, g.Og, g.HWo, g.K, T(1), wp + grp * g.Og * g.K, g.K, cp, g.HWo, beta, yg, g.HWo, par);
      }
    }
  });
}

template <class T>
void backward_im2col(const Tensor& gy, const Tensor& x, const Tensor& w, const detail::Conv2dParams& p, Tensor& gx,
                     Tensor& gw, Tensor& gb) {
  const ConvGeometry g = geometry(x, w, gy, p);
  const T* xp = x.data_ptr<T>();
  const T* wp = w.data_ptr<T>();
  const T* gyp = gy.data_ptr<T>();
  T* gxp = gx.defined() ? gx.data_ptr<T>() : nullptr;
  T* gwp = gw.defined() ? gw.data_ptr<T>() : nullptr;

  if (gb.defined()) {
    T* gbp = gb.data_ptr<T>();
    // In partial sums (cpu/lane_sum.h), channels split over the pool: one
    // running sum per row on one thread was a serial chain, and 1.1 ms of
    // the 1 -> 32 layer's backward at batch 64 (bench_conv).
    parallel_ranges(g.O, gy.numel(), [&](int64_t o_begin, int64_t o_end) {
      for (int64_t o = o_begin; o < o_end; ++o) {
        double s = 0;
        for (int64_t n = 0; n < g.N; ++n) {
          const T* row = gyp + (n * g.O + o) * g.HWo;
          s += static_cast<double>(lane_sum<T>(g.HWo, [row](int64_t i) { return row[i]; }));
        }
        gbp[o] = static_cast<T>(s);
      }
    });
  }
  if (!gxp && !gwp) return;

  const bool par = split_samples(g.N);
  const int threads = par ? pool_threads() : 1;
  const size_t wsize = static_cast<size_t>(g.O * g.K);
  // Per-thread weight-gradient partials; thread 0 writes straight into gw.
  std::vector<std::vector<T>> partial(static_cast<size_t>(gwp ? threads - 1 : 0), std::vector<T>(wsize, T(0)));
  if (gwp) std::fill(gwp, gwp + wsize, T(0));
  BlasSingleThread single(par);
  parallel_run(threads, [&](int t) {
    T* my_gw = gwp ? (t == 0 ? gwp : partial[static_cast<size_t>(t - 1)].data()) : nullptr;
    std::vector<T> col(g.pointwise || !gwp ? 0 : static_cast<size_t>(g.K * g.HWo));
    std::vector<T> gcol(g.pointwise || !gxp ? 0 : static_cast<size_t>(g.K * g.HWo));
    const int64_t per = (g.N + threads - 1) / threads, n_end = std::min(g.N, (t + 1) * per);
    for (int64_t n = t * per; n < n_end; ++n) {
      if (gxp) std::fill(gxp + n * g.C * g.H * g.W, gxp + (n + 1) * g.C * g.H * g.W, T(0));
      for (int64_t grp = 0; grp < g.G; ++grp) {
        const T* xg = xp + (n * g.C + grp * g.Cg) * g.H * g.W;
        const T* gyg = gyp + (n * g.O + grp * g.Og) * g.HWo;
        const T* wg = wp + grp * g.Og * g.K;
        if (my_gw) {
          const T* cp = xg;
          if (!g.pointwise) {
            im2col(xg, g, col.data());
            cp = col.data();
          }
          gemm(false, true, g.Og, g.K, g.HWo, T(1), gyg, g.HWo, cp, g.HWo, T(1), my_gw + grp * g.Og * g.K, g.K, par);
        }
        if (gxp) {
          T* gxg = gxp + (n * g.C + grp * g.Cg) * g.H * g.W;
          if (g.pointwise) {
            gemm(true, false, g.K, g.HWo, g.Og, T(1), wg, g.K, gyg, g.HWo, T(0), gxg, g.HWo, par);
          } else {
            gemm(true, false, g.K, g.HWo, g.Og, T(1), wg, g.K, gyg, g.HWo, T(0), gcol.data(), g.HWo, par);
            col2im_add(gcol.data(), g, gxg);
          }
        }
      }
    }
  });
  for (const auto& part : partial)
    for (size_t i = 0; i < wsize; ++i) gwp[i] += part[i];
}

// f16/bf16 and (for oneDNN) f64 fall back: f16/bf16 compute in f32.
Tensor widened(const Tensor& t) {
  if (!t.defined()) return t;
  Tensor out = detail::make_empty(t.sizes(), kFloat32, t.device());
  detail::cpu_backend().copy(t, out);
  return out;
}

}  // namespace

void conv2d_forward_im2col(const Tensor& x, const Tensor& w, const Tensor& b, const detail::Conv2dParams& p,
                           Tensor& out) {
  if (x.dtype() == kFloat64) return forward_im2col<double>(x, w, b, p, out);
  KILN_CHECK(x.dtype() == kFloat32, DTypeError, "conv2d: im2col path takes float32/float64, got ", x.dtype());
  forward_im2col<float>(x, w, b, p, out);
}

void conv2d_backward_im2col(const Tensor& gy, const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                            Tensor& gx, Tensor& gw, Tensor& gb) {
  if (x.dtype() == kFloat64) return backward_im2col<double>(gy, x, w, p, gx, gw, gb);
  KILN_CHECK(x.dtype() == kFloat32, DTypeError, "conv2d_backward: im2col path takes float32/float64, got ",
             x.dtype());
  backward_im2col<float>(gy, x, w, p, gx, gw, gb);
}

// Which implementation runs a float32 convolution is measured, not ruled:
// the fastest one depends on the machine and the layer. On the AMD EPYC
// (AVX2) of earlier sessions, with OpenBLAS under im2col, oneDNN's
// primitives won the forward pass of layers with K = C/g*kh*kw >= 256 by
// 2x. On an Emerald Rapids Xeon, with oneDNN's sgemm under im2col, im2col won
// every layer of the benchmark CNNs (bench_conv, batch 64, 2 threads, ms):
//                         im2col fwd/bwd   oneDNN fwd/bwd
//   conv1 1->32, 28x28      0.42 / 1.72      0.61 / 2.03
//   conv2 32->64, 14x14     3.89 / 8.97      4.90 / 10.84
// and the wide CNN's training step took 25-30 ms with im2col against 36-46
// ms with oneDNN for its second layer (oneDNN's OpenMP threads and kiln's
// pool also take turns spinning on the same two cores).
// So each geometry and pass is timed with both at its first use and the
// faster one is kept for the rest of the process (KILN_CPU_CONV_LOG=1
// prints each choice and its timings). KILN_CPU_CONV=im2col or =onednn
// fixes the choice instead (for runs that must repeat bit for bit
// across processes: the two sum in different orders).
// Tried on the AMD machine and not kept: unrolling several samples into one
// col for wider sgemm calls (the extra copies and a col beyond L2 cost more
// than the wider products gained), and plain loops instead of sgemm for the
// K = 9 first layer (same speed).
ConvImpl default_conv_impl() {
  static const ConvImpl impl = [] {
    const char* env = std::getenv("KILN_CPU_CONV");
    const std::string v = env ? env : "";
    if (v == "im2col") return ConvImpl::Im2col;
    if (v == "onednn") {
      KILN_CHECK(onednn_available(), Error, "KILN_CPU_CONV=onednn: kiln was built without oneDNN");
      return ConvImpl::OneDnn;
    }
    KILN_CHECK(v.empty() || v == "auto", Error, "KILN_CPU_CONV must be im2col, onednn or auto, got '", v, "'");
    return onednn_available() ? ConvImpl::Measured : ConvImpl::Im2col;
  }();
  return impl;
}

namespace {

using ConvKey = std::array<int64_t, 16>;

ConvKey conv_key(const Tensor& x, const Tensor& w, const detail::Conv2dParams& p, ConvPass pass, bool input_grad) {
  // The indices are read back by run_measured's log line.
  return {x.size(0),   x.size(1),   x.size(2),    x.size(3),    w.size(0),     w.size(2),
          w.size(3),   p.stride[0], p.stride[1],  p.padding[0], p.padding[1],  p.dilation[0],
          p.dilation[1], p.groups,  static_cast<int64_t>(pass), input_grad ? 1 : 0};
}

struct ConvChoices {
  std::mutex mutex;
  std::map<ConvKey, ConvMeasurement> chosen;
};
ConvChoices& conv_choices() {
  static ConvChoices c;
  return c;
}

// KILN_CPU_CONV_LOG=1: one line on stderr per choice, with both timings and how many runs they are the best of.
void log_choice(const ConvKey& k, const ConvMeasurement& m) {
  const char* log = std::getenv("KILN_CPU_CONV_LOG");
  if (log == nullptr || std::string(log) != "1") return;
  std::ostringstream line;
  line << std::fixed << std::setprecision(3) << "kiln conv2d "
       << (k[14] == static_cast<int64_t>(ConvPass::Forward) ? "forward" : "backward") << ": x [" << k[0] << ", "
       << k[1] << ", " << k[2] << ", " << k[3] << "], weight [" << k[4] << ", " << k[1] / k[13] << ", " << k[5]
       << ", " << k[6] << "]" << (k[15] != 0 ? " (with input grad)" : "") << ": im2col " << m.im2col_seconds * 1e3
       << " ms, oneDNN " << m.onednn_seconds * 1e3 << " ms -> " << (m.pick == ConvImpl::OneDnn ? "oneDNN" : "im2col")
       << " (best of " << m.im2col_runs << " and " << m.onednn_runs << " runs in " << m.passes << " passes)\n";
  std::cerr << line.str();
}

// oneDNN must be this much faster alone to be chosen: timed alone, it does not
// pay for its OpenMP threads spinning beside kiln's pool afterwards. (On the
// Xeon, calls 20% slower alone cost the wide CNN's step 40% in training; on
// the AMD machine oneDNN was 2x faster alone where it won.)
constexpr double kOneDnnMargin = 1.25;

// How long the first use of a key times the two implementations. Timed in
// one burst of five runs each, im2col came out 2x slower than it runs a few
// steps later in 5 of 6 fresh processes of the wide CNN (4.0-4.8 against
// 1.9-2.0 ms for its 32 -> 64 layer, 2 shared vCPUs), so oneDNN was picked
// and the step took 19-22 ms instead of 12-13. Two things slow the first
// milliseconds: a fresh process's second vCPU that does not yet keep up
// (seen with im2col alone: single-thread times for up to ~50 ms), and
// oneDNN's OpenMP threads, which spin for 3-6 ms after each oneDNN call and
// halve the pool's speed meanwhile (so a key timed right after another
// key's oneDNN runs is slow on im2col). So the two are timed in passes, at
// least kMinPasses and until kMeasureSeconds have gone by (at most
// kMaxPasses); in each pass each implementation runs for at least
// kBlockSeconds and kMinRounds runs, im2col after a kSettle pause in which
// oneDNN's threads stop spinning; each keeps its best run, so a warm pass
// corrects a cold one. A convolution of 200 ms costs its first use 12
// runs, against the single burst's 10.
constexpr int kMinRounds = 3;
constexpr double kBlockSeconds = 0.010;
constexpr double kMeasureSeconds = 0.050;
constexpr int kMinPasses = 2, kMaxPasses = 4;
constexpr std::chrono::milliseconds kSettle{10};

// Runs run(impl) with the implementation chosen for `key`, measuring both
// at the key's first use (above; the very first run of each is not counted:
// it builds oneDNN's primitives and allocates). The one kept runs last, so
// this call's results are the ones every later call would give.
template <class Run>
void run_measured(const ConvKey& key, Run&& run) {
  ConvChoices& c = conv_choices();
  std::optional<ConvImpl> known;
  {
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.chosen.find(key);
    if (it != c.chosen.end()) known = it->second.pick;
  }
  if (known) return run(*known);
  using Clock = std::chrono::steady_clock;
  const auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
  // im2col first in each pass: right after oneDNN's block, its first runs
  // would be timed while oneDNN's OpenMP threads still spin.
  const ConvImpl candidates[2] = {ConvImpl::Im2col, ConvImpl::OneDnn};
  ConvMeasurement m;
  double* best[2] = {&m.im2col_seconds, &m.onednn_seconds};
  int* runs[2] = {&m.im2col_runs, &m.onednn_runs};
  const auto start = Clock::now();
  for (; m.passes < kMaxPasses && (m.passes < kMinPasses || since(start) < kMeasureSeconds); ++m.passes) {
    for (int k = 0; k < 2; ++k) {
      // Lets oneDNN's OpenMP threads (of this key's last pass or of the key
      // before) stop spinning and block before im2col is timed.
      if (candidates[k] == ConvImpl::Im2col) std::this_thread::sleep_for(kSettle);
      const auto block = Clock::now();
      for (int round = 0; round < kMinRounds || since(block) < kBlockSeconds; ++round) {
        const auto t0 = Clock::now();
        run(candidates[k]);
        if (m.passes == 0 && round == 0) continue;
        *best[k] = std::min(*best[k], since(t0));
        ++*runs[k];
      }
    }
  }
  m.pick = m.onednn_seconds * kOneDnnMargin < m.im2col_seconds ? ConvImpl::OneDnn : ConvImpl::Im2col;
  if (m.pick != candidates[1]) run(m.pick);
  log_choice(key, m);
  std::lock_guard<std::mutex> lock(c.mutex);
  c.chosen.emplace(key, m);
}

// Measured (time both: run_measured) applies to float32 only; f64 has only im2col.
ConvImpl impl_for(const Tensor& x) {
  return x.dtype() == kFloat32 ? default_conv_impl() : ConvImpl::Im2col;
}

}  // namespace

std::optional<ConvMeasurement> conv2d_measurement(const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                                                  ConvPass pass, bool input_grad) {
  ConvChoices& c = conv_choices();
  std::lock_guard<std::mutex> lock(c.mutex);
  auto it = c.chosen.find(conv_key(x, w, p, pass, input_grad));
  if (it == c.chosen.end()) return std::nullopt;
  return it->second;
}

std::optional<ConvImpl> conv2d_measured_choice(const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                                               ConvPass pass, bool input_grad) {
  const auto m = conv2d_measurement(x, w, p, pass, input_grad);
  if (!m) return std::nullopt;
  return m->pick;
}

void CpuBackend::conv2d_forward(const Tensor& x, const Tensor& w, const Tensor& b, const detail::Conv2dParams& p,
                                Tensor& out) {
  if (x.dtype() == kFloat16 || x.dtype() == kBFloat16) {
    Tensor o32 = detail::make_empty(out.sizes(), kFloat32, out.device());
    conv2d_forward(widened(x), widened(w), widened(b), p, o32);
    copy(o32, out);
    return;
  }
  auto run = [&](ConvImpl impl) {
    if (impl == ConvImpl::OneDnn) return conv2d_forward_onednn(x, w, b, p, out);
    conv2d_forward_im2col(x, w, b, p, out);
  };
  const ConvImpl impl = impl_for(x);
  if (impl != ConvImpl::Measured) return run(impl);
  run_measured(conv_key(x, w, p, ConvPass::Forward, false), run);
}

void CpuBackend::conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                                 Tensor& gx, Tensor& gw, Tensor& gb) {
  if (x.dtype() == kFloat16 || x.dtype() == kBFloat16) {
    auto make32 = [](const Tensor& t) {
      return t.defined() ? detail::make_empty(t.sizes(), kFloat32, t.device()) : Tensor();
    };
    Tensor gx32 = make32(gx), gw32 = make32(gw), gb32 = make32(gb);
    conv2d_backward(widened(gy), widened(x), widened(w), p, gx32, gw32, gb32);
    if (gx.defined()) copy(gx32, gx);
    if (gw.defined()) copy(gw32, gw);
    if (gb.defined()) copy(gb32, gb);
    return;
  }
  auto run = [&](ConvImpl impl) {
    if (impl == ConvImpl::OneDnn) return conv2d_backward_onednn(gy, x, w, p, gx, gw, gb);
    conv2d_backward_im2col(gy, x, w, p, gx, gw, gb);
  };
  const ConvImpl impl = impl_for(x);
  if (impl != ConvImpl::Measured) return run(impl);
  run_measured(conv_key(x, w, p, ConvPass::Backward, gx.defined()), run);
}

}  // namespace kiln::cpu
