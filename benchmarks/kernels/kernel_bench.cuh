// Shared pieces of the kernel playgrounds (bench_elementwise/reduce/softmax,
// which use all of it, and bench_copy/matmul/conv2d/optim, which use the
// checks, timing, commit lookup and JSON line): checks, CUDA-event timing
// (median of many runs after warm-up, on the default or a given stream; mean
// of back-to-back runs), the measured device-to-device copy ceiling, and the
// output (one JSON line per measurement, then a Markdown table), and the
// quick mode. Header-only; included by one .cu each.
//
// Quick mode (KILN_BENCH_QUICK=1; tools/gpu-check.sh sets it): every timing
// helper here takes at most kQuickRuns timed runs after one warm-up, so a
// playground's time goes to validation, not repetition; its JSON lines carry
// "quick": true, since such figures are noisier than a full run's.
#pragma once
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <string>
#include <vector>

#define BENCH_CUDA(expr)                                                                                     \
  do {                                                                                                       \
    cudaError_t bench_err_ = (expr);                                                                         \
    if (bench_err_ != cudaSuccess) {                                                                         \
      std::fprintf(stderr, "%s failed: %s at %s:%d\n", #expr, cudaGetErrorString(bench_err_), __FILE__,     \
                   __LINE__);                                                                                \
      std::exit(1);                                                                                          \
    }                                                                                                        \
  } while (0)
// Any status type whose success value is 0 (cuBLAS, cuBLASLt).
#define BENCH_STATUS(expr)                                                                        \
  do {                                                                                            \
    auto bench_status_ = (expr);                                                                  \
    if (static_cast<int>(bench_status_) != 0) {                                                   \
      std::fprintf(stderr, "%s failed (%d) at %s:%d\n", #expr, static_cast<int>(bench_status_), \
                   __FILE__, __LINE__);                                                           \
      std::exit(1);                                                                               \
    }                                                                                             \
  } while (0)
// cuDNN calls return their status so a configuration cuDNN refuses is
// reported as "no reference" instead of ending the run.
#define BENCH_CUDNN_OK(expr) ((expr) == CUDNN_STATUS_SUCCESS)
#define BENCH_CUDNN(expr)                                                                                    \
  do {                                                                                                       \
    cudnnStatus_t bench_st_ = (expr);                                                                        \
    if (bench_st_ != CUDNN_STATUS_SUCCESS) {                                                                 \
      std::fprintf(stderr, "%s failed: %s at %s:%d\n", #expr, cudnnGetErrorString(bench_st_), __FILE__,     \
                   __LINE__);                                                                                \
      std::exit(1);                                                                                          \
    }                                                                                                        \
  } while (0)

namespace bench {

constexpr int kWarmup = 5;
constexpr int kRuns = 50;
constexpr int kQuickRuns = 5;

inline bool quick() {
  static const bool on = [] {
    const char* v = std::getenv("KILN_BENCH_QUICK");
    return v && *v && std::strcmp(v, "0") != 0;
  }();
  return on;
}
// The number of timed runs (or warm-ups) to do when `runs` were asked for.
inline int quick_runs(int runs) { return quick() ? std::min(runs, kQuickRuns) : runs; }
inline int quick_warmup(int warmup) { return quick() ? std::min(warmup, 1) : warmup; }

// Median milliseconds of `runs` launches of f, each timed by its own pair of events.
inline double median_ms(const std::function<void()>& f, int runs = kRuns) {
  runs = quick_runs(runs);
  for (int i = 0; i < quick_warmup(kWarmup); ++i) f();
  BENCH_CUDA(cudaDeviceSynchronize());
  std::vector<cudaEvent_t> ev(2 * runs);
  for (auto& e : ev) BENCH_CUDA(cudaEventCreate(&e));
  for (int i = 0; i < runs; ++i) {
    BENCH_CUDA(cudaEventRecord(ev[2 * i]));
    f();
    BENCH_CUDA(cudaEventRecord(ev[2 * i + 1]));
  }
  BENCH_CUDA(cudaEventSynchronize(ev.back()));
  std::vector<double> ms(runs);
  for (int i = 0; i < runs; ++i) {
    float t = 0;
    BENCH_CUDA(cudaEventElapsedTime(&t, ev[2 * i], ev[2 * i + 1]));
    ms[i] = t;
  }
  for (auto& e : ev) cudaEventDestroy(e);
  std::nth_element(ms.begin(), ms.begin() + runs / 2, ms.end());
  return ms[runs / 2];
}

// Median milliseconds of `runs` calls of f on `stream` after `warmup` calls;
// each call is bracketed by its own events and synchronised before the next.
inline double median_ms_on(const std::function<void()>& f, cudaStream_t stream, int runs = 25, int warmup = 5) {
  runs = quick_runs(runs);
  warmup = quick_warmup(warmup);
  for (int i = 0; i < warmup; ++i) f();
  cudaEvent_t a, b;
  BENCH_CUDA(cudaEventCreate(&a));
  BENCH_CUDA(cudaEventCreate(&b));
  std::vector<float> times;
  for (int i = 0; i < runs; ++i) {
    BENCH_CUDA(cudaEventRecord(a, stream));
    f();
    BENCH_CUDA(cudaEventRecord(b, stream));
    BENCH_CUDA(cudaEventSynchronize(b));
    float ms = 0;
    BENCH_CUDA(cudaEventElapsedTime(&ms, a, b));
    times.push_back(ms);
  }
  BENCH_CUDA(cudaEventDestroy(a));
  BENCH_CUDA(cudaEventDestroy(b));
  std::sort(times.begin(), times.end());
  return times[times.size() / 2];
}

// Mean milliseconds per call of `iters` back-to-back calls of f between one
// pair of events, after `warmup` calls and a device synchronisation.
inline double mean_ms(const std::function<void()>& f, int iters, int warmup = 1) {
  iters = quick() ? std::min(iters, 2 * kQuickRuns) : iters;
  for (int i = 0; i < warmup; ++i) f();
  BENCH_CUDA(cudaDeviceSynchronize());
  cudaEvent_t s, e;
  BENCH_CUDA(cudaEventCreate(&s));
  BENCH_CUDA(cudaEventCreate(&e));
  BENCH_CUDA(cudaEventRecord(s));
  for (int i = 0; i < iters; ++i) f();
  BENCH_CUDA(cudaEventRecord(e));
  BENCH_CUDA(cudaEventSynchronize(e));
  float ms = 0;
  BENCH_CUDA(cudaEventElapsedTime(&ms, s, e));
  cudaEventDestroy(s);
  cudaEventDestroy(e);
  return ms / iters;
}

// Device-to-device copy rate in GB/s (bytes read + written), the ceiling
// bandwidth-bound kernels are compared with.
inline double copy_ceiling_gbs() {
  const size_t bytes = size_t(1) << 30;
  void *a = nullptr, *b = nullptr;
  BENCH_CUDA(cudaMalloc(&a, bytes));
  BENCH_CUDA(cudaMalloc(&b, bytes));
  BENCH_CUDA(cudaMemset(a, 0, bytes));
  const double ms = median_ms([&] { BENCH_CUDA(cudaMemcpyAsync(b, a, bytes, cudaMemcpyDeviceToDevice)); }, 20);
  BENCH_CUDA(cudaFree(a));
  BENCH_CUDA(cudaFree(b));
  return 2.0 * bytes / (ms * 1e6);
}

inline std::string device_name() {
  cudaDeviceProp p{};
  BENCH_CUDA(cudaGetDeviceProperties(&p, 0));
  return p.name;
}

inline std::string commit() {
  for (const char* name : {"KILN_GIT_COMMIT", "KILN_COMMIT"}) {
    const char* v = std::getenv(name);
    if (v && *v) return v;
  }
  return "unknown";
}

inline bool gpu_present() {
  int n = 0;
  if (cudaGetDeviceCount(&n) != cudaSuccess || n == 0) {
    cudaGetLastError();
    return false;
  }
  return true;
}

// One measurement. ratio_vs_ref = reference ms / this ms (> 1: faster than
// the cuDNN call of the same row group); NaN when there is no reference.
struct Result {
  std::string bench, version, shape, dtype;
  double ms = 0, rate = 0;
  std::string unit = "GB/s";
  double pct_of_ceiling = 0, ratio_vs_ref = NAN;
};

// Decimal places of the numbers in a JSON line.
struct JsonFormat {
  int ms = 5, rate = 1, pct = 1, ratio = 3;
};

// One JSON line for r; NaN pct_of_ceiling / ratio_vs_ref print as null.
// `extra` (e.g. "\"valid\": true, ") goes just before "device".
inline void print_json(const Result& r, const std::string& device, const std::string& commit,
                       const JsonFormat& fmt = {}, const std::string& extra = "") {
  char pct[32], ratio[32];
  if (std::isnan(r.pct_of_ceiling)) std::snprintf(pct, sizeof pct, "null");
  else std::snprintf(pct, sizeof pct, "%.*f", fmt.pct, r.pct_of_ceiling);
  if (std::isnan(r.ratio_vs_ref)) std::snprintf(ratio, sizeof ratio, "null");
  else std::snprintf(ratio, sizeof ratio, "%.*f", fmt.ratio, r.ratio_vs_ref);
  std::printf(
      "{\"bench\": \"%s\", \"version\": \"%s\", \"shape\": \"%s\", \"dtype\": \"%s\", \"ms\": %.*f, "
      "\"rate\": %.*f, \"unit\": \"%s\", \"pct_of_ceiling\": %s, \"ratio_vs_ref\": %s, %s\"device\": \"%s\", "
      "\"commit\": \"%s\"}\n",
      r.bench.c_str(), r.version.c_str(), r.shape.c_str(), r.dtype.c_str(), fmt.ms, r.ms, fmt.rate, r.rate,
      r.unit.c_str(), pct, ratio, (quick() ? "\"quick\": true, " + extra : extra).c_str(), device.c_str(),
      commit.c_str());
}

class Report {
 public:
  Report(std::string bench) : bench_(std::move(bench)), device_(device_name()), commit_(commit()) {
    ceiling_ = copy_ceiling_gbs();
  }
  double ceiling() const { return ceiling_; }

  // bytes moved per call: GB/s = bytes / (ms * 1e6).
  void add(const std::string& version, const std::string& shape, const std::string& dtype, double ms, double bytes) {
    Result r;
    r.bench = bench_;
    r.version = version;
    r.shape = shape;
    r.dtype = dtype;
    r.ms = ms;
    r.rate = bytes / (ms * 1e6);
    r.pct_of_ceiling = 100.0 * r.rate / ceiling_;
    results_.push_back(r);
  }
  // Sets ratio_vs_ref of every result with this shape/dtype from the `ref` version.
  void set_reference(const std::string& shape, const std::string& dtype, const std::string& ref) {
    double ref_ms = NAN;
    for (const Result& r : results_)
      if (r.shape == shape && r.dtype == dtype && r.version == ref) ref_ms = r.ms;
    for (Result& r : results_)
      if (r.shape == shape && r.dtype == dtype) r.ratio_vs_ref = ref_ms / r.ms;
  }
  void print() const {
    for (const Result& r : results_) print_json(r, device_, commit_);
    std::printf("\n### %s on %s (copy ceiling %.0f GB/s, commit %s)\n\n", bench_.c_str(), device_.c_str(), ceiling_,
                commit_.c_str());
    std::printf("| version | shape | dtype | ms | GB/s | %% of copy | vs cuDNN |\n|---|---|---|---|---|---|---|\n");
    for (const Result& r : results_)
      std::printf("| %s | %s | %s | %.4f | %.1f | %.1f | %s |\n", r.version.c_str(), r.shape.c_str(), r.dtype.c_str(),
                  r.ms, r.rate, r.pct_of_ceiling,
                  std::isnan(r.ratio_vs_ref) ? "-" : (std::to_string(r.ratio_vs_ref).substr(0, 5) + "x").c_str());
  }

 private:
  std::string bench_, device_, commit_;
  double ceiling_ = 0;
  std::vector<Result> results_;
};

// |got - want| <= atol + rtol * |want| everywhere; prints the first failure.
inline bool validate(const char* what, const std::vector<double>& got, const std::vector<double>& want, double rtol,
                     double atol) {
  for (size_t i = 0; i < want.size(); ++i) {
    if (!(std::abs(got[i] - want[i]) <= atol + rtol * std::abs(want[i]))) {
      std::fprintf(stderr, "# %s: INVALID at %zu: got %.8g want %.8g\n", what, i, got[i], want[i]);
      return false;
    }
  }
  return true;
}

}  // namespace bench
