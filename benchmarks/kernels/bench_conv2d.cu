// Conv2d forward playground: kiln's hand-written implicit-GEMM kernel
// (kernels/conv2d.cu, the production kernel) against cuDNN's fastest
// algorithm (cudnnFindConvolutionForwardAlgorithmEx) on ResNet-style shapes,
// in f32 and bf16.
//
// Every version is validated before it is timed: kiln against cuDNN on every
// output, and both against a double-precision CPU reference on 512 sampled
// outputs. Timing: CUDA events around each launch after 5 warm-up runs; the
// median of 25 runs.
//   rate (TFLOP/s) = 2 * N * K * C * R * S * P * Q / t
//   pct_of_ceiling = rate / the SIMT f32 FMA peak (SMs * 128 FMA/clock * 2 *
//     clock) for versions that use FMA units (kiln, cuDNN with FMA math);
//     null for cuDNN's tensor-core versions, whose ceiling is another unit.
//   ratio_vs_ref = cuDNN time / this version's time (>1: faster than cuDNN),
//     against cuDNN with the same math class (FMA for f32, its default
//     tensor-core math for bf16).
// Output: one JSON line per measurement, then a Markdown table.
// Usage: bench_conv2d [--quick]   (--quick: first shape only)
#include <cuda_bf16.h>
#include <cuda_runtime.h>
#include <cudnn.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "conv2d.h"
#include "kernel_bench.cuh"

namespace {

struct Shape {
  const char* name;
  int N, C, H, W, K, R, S, stride, pad;
  int P() const { return (H + 2 * pad - R) / stride + 1; }
  int Q() const { return (W + 2 * pad - S) / stride + 1; }
  double flops() const { return 2.0 * N * K * C * R * S * double(P()) * Q(); }
  std::string str() const {
    char b[160];
    std::snprintf(b, sizeof b, "N%d_C%d_H%d_W%d_K%d_R%d_S%d_s%d_p%d", N, C, H, W, K, R, S, stride, pad);
    return b;
  }
};

const Shape kShapes[] = {
    {"res2_3x3", 32, 64, 56, 56, 64, 3, 3, 1, 1},
    {"res3_3x3", 32, 128, 28, 28, 128, 3, 3, 1, 1},
    {"res4_3x3", 32, 256, 14, 14, 256, 3, 3, 1, 1},
    {"res5_3x3", 32, 512, 7, 7, 512, 3, 3, 1, 1},
    {"res3_3x3_s2", 32, 128, 56, 56, 128, 3, 3, 2, 1},
    {"res2_1x1_expand", 32, 64, 56, 56, 256, 1, 1, 1, 0},
    {"res2_1x1_reduce", 32, 256, 56, 56, 64, 1, 1, 1, 0},
    {"res4_1x1_reduce", 32, 1024, 14, 14, 256, 1, 1, 1, 0},
};

struct Result {
  std::string shape_name, shape, dtype, version;
  double ms = 0, tflops = 0, pct = -1, ratio = 0;
  bool valid = true;
};

std::string g_device = "unknown", g_commit = "unknown";
double g_simt_peak_tflops = 0;

// Device buffers holding the same values as host floats (rounded to bf16 when asked).
struct Buffer {
  void* ptr = nullptr;
  size_t count = 0;
  bool bf16 = false;
  Buffer(std::vector<float>& host, bool is_bf16) : count(host.size()), bf16(is_bf16) {
    if (bf16) {
      std::vector<__nv_bfloat16> h(count);
      for (size_t i = 0; i < count; ++i) {
        h[i] = __float2bfloat16_rn(host[i]);
        host[i] = __bfloat162float(h[i]);
      }
      BENCH_CUDA(cudaMalloc(&ptr, count * 2));
      BENCH_CUDA(cudaMemcpy(ptr, h.data(), count * 2, cudaMemcpyHostToDevice));
    } else {
      BENCH_CUDA(cudaMalloc(&ptr, count * 4));
      BENCH_CUDA(cudaMemcpy(ptr, host.data(), count * 4, cudaMemcpyHostToDevice));
    }
  }
  explicit Buffer(size_t n, bool is_bf16) : count(n), bf16(is_bf16) { BENCH_CUDA(cudaMalloc(&ptr, n * (bf16 ? 2 : 4))); }
  ~Buffer() { cudaFree(ptr); }
  std::vector<float> download() const {
    std::vector<float> out(count);
    if (bf16) {
      std::vector<__nv_bfloat16> h(count);
      BENCH_CUDA(cudaMemcpy(h.data(), ptr, count * 2, cudaMemcpyDeviceToHost));
      for (size_t i = 0; i < count; ++i) out[i] = __bfloat162float(h[i]);
    } else {
      BENCH_CUDA(cudaMemcpy(out.data(), ptr, count * 4, cudaMemcpyDeviceToHost));
    }
    return out;
  }
};

double reference_output(const Shape& s, const std::vector<float>& x, const std::vector<float>& w,
                        const std::vector<float>& bias, size_t index) {
  const int P = s.P(), Q = s.Q();
  const int q = index % Q, p = (index / Q) % P, k = (index / (size_t(P) * Q)) % s.K,
            n = index / (size_t(P) * Q * s.K);
  double acc = bias[k];
  for (int c = 0; c < s.C; ++c)
    for (int r = 0; r < s.R; ++r)
      for (int t = 0; t < s.S; ++t) {
        const int h = p * s.stride - s.pad + r, ww = q * s.stride - s.pad + t;
        if (h < 0 || h >= s.H || ww < 0 || ww >= s.W) continue;
        acc += double(x[((size_t(n) * s.C + c) * s.H + h) * s.W + ww]) * w[((size_t(k) * s.C + c) * s.R + r) * s.S + t];
      }
  return acc;
}

// Max |got - want| / (atol + rtol*|want|) over the sampled outputs; <= 1 passes.
double sampled_error(const Shape& s, const std::vector<float>& got, const std::vector<float>& x,
                     const std::vector<float>& w, const std::vector<float>& bias, double rtol, double atol) {
  std::mt19937_64 rng(7);
  double worst = 0;
  for (int i = 0; i < 512; ++i) {
    const size_t idx = rng() % got.size();
    const double want = reference_output(s, x, w, bias, idx);
    worst = std::max(worst, std::fabs(got[idx] - want) / (atol + rtol * std::fabs(want)));
  }
  return worst;
}

double full_error(const std::vector<float>& a, const std::vector<float>& b, double rtol, double atol) {
  double worst = 0;
  for (size_t i = 0; i < a.size(); ++i) worst = std::max(worst, std::fabs(a[i] - b[i]) / (atol + rtol * std::fabs(b[i])));
  return worst;
}

struct CudnnConv {
  cudnnHandle_t handle;
  cudnnTensorDescriptor_t x, y, b;
  cudnnFilterDescriptor_t w;
  cudnnConvolutionDescriptor_t conv;
  cudnnConvolutionFwdAlgo_t algo{};
  cudnnMathType_t math{};
  void* workspace = nullptr;
  size_t workspace_bytes = 0;

  CudnnConv(cudnnHandle_t h, const Shape& s, bool bf16, cudnnMathType_t requested, const Buffer& xb,
            const Buffer& wb, Buffer& yb)
      : handle(h) {
    const cudnnDataType_t dt = bf16 ? CUDNN_DATA_BFLOAT16 : CUDNN_DATA_FLOAT;
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&x));
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&y));
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&b));
    BENCH_CUDNN(cudnnCreateFilterDescriptor(&w));
    BENCH_CUDNN(cudnnCreateConvolutionDescriptor(&conv));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(x, CUDNN_TENSOR_NCHW, dt, s.N, s.C, s.H, s.W));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(y, CUDNN_TENSOR_NCHW, dt, s.N, s.K, s.P(), s.Q()));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(b, CUDNN_TENSOR_NCHW, dt, 1, s.K, 1, 1));
    BENCH_CUDNN(cudnnSetFilter4dDescriptor(w, dt, CUDNN_TENSOR_NCHW, s.K, s.C, s.R, s.S));
    BENCH_CUDNN(cudnnSetConvolution2dDescriptor(conv, s.pad, s.pad, s.stride, s.stride, 1, 1,
                                                CUDNN_CROSS_CORRELATION, CUDNN_DATA_FLOAT));
    BENCH_CUDNN(cudnnSetConvolutionMathType(conv, requested));
    size_t wanted = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
      size_t sz = 0;
      if (cudnnGetConvolutionForwardWorkspaceSize(h, x, w, conv, y, cudnnConvolutionFwdAlgo_t(a), &sz) ==
          CUDNN_STATUS_SUCCESS)
        wanted = std::max(wanted, sz);
    }
    wanted = std::min<size_t>(wanted, size_t{2} << 30);
    void* find_ws = nullptr;
    if (wanted > 0 && cudaMalloc(&find_ws, wanted) != cudaSuccess) {
      cudaGetLastError();
      wanted = 0;
    }
    cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
    int count = 0;
    BENCH_CUDNN(cudnnFindConvolutionForwardAlgorithmEx(h, x, xb.ptr, w, wb.ptr, conv, y, yb.ptr,
                                                       CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf, find_ws, wanted));
    cudaFree(find_ws);
    int pick = -1;
    for (int i = 0; i < count && pick < 0; ++i)
      if (perf[i].status == CUDNN_STATUS_SUCCESS) pick = i;
    if (pick < 0) {
      std::fprintf(stderr, "cuDNN found no algorithm for %s\n", s.str().c_str());
      std::exit(1);
    }
    algo = perf[pick].algo;
    math = perf[pick].mathType;
    BENCH_CUDNN(cudnnSetConvolutionMathType(conv, math));
    workspace_bytes = perf[pick].memory;
    if (workspace_bytes) BENCH_CUDA(cudaMalloc(&workspace, workspace_bytes));
  }
  ~CudnnConv() {
    cudaFree(workspace);
    cudnnDestroyTensorDescriptor(x);
    cudnnDestroyTensorDescriptor(y);
    cudnnDestroyTensorDescriptor(b);
    cudnnDestroyFilterDescriptor(w);
    cudnnDestroyConvolutionDescriptor(conv);
  }
  void run(const Buffer& xb, const Buffer& wb, const Buffer& bb, Buffer& yb) {
    const float one = 1.f, zero = 0.f;
    BENCH_CUDNN(cudnnConvolutionForward(handle, &one, x, xb.ptr, w, wb.ptr, conv, algo, workspace, workspace_bytes,
                                        &zero, y, yb.ptr));
    BENCH_CUDNN(cudnnAddTensor(handle, &one, b, bb.ptr, &one, y, yb.ptr));
  }
};

void print_json(const Result& r) {
  bench::Result j;
  j.bench = "conv2d_fwd", j.version = r.version, j.shape = r.shape, j.dtype = r.dtype;
  j.ms = r.ms, j.rate = r.tflops, j.unit = "TFLOP/s";
  j.pct_of_ceiling = r.pct >= 0 ? r.pct : NAN, j.ratio_vs_ref = r.ratio;
  bench::print_json(j, g_device, g_commit, {5, 3, 4, 4}, r.valid ? "\"valid\": true, " : "\"valid\": false, ");
  std::fflush(stdout);
}

void bench_shape(const Shape& s, bool bf16, cudnnHandle_t handle, cudaStream_t stream, std::vector<Result>& results) {
  const char* dtype = bf16 ? "bf16" : "f32";
  std::mt19937 rng(1234);
  std::normal_distribution<float> nd(0.f, 1.f);
  std::vector<float> hx(size_t(s.N) * s.C * s.H * s.W), hw(size_t(s.K) * s.C * s.R * s.S), hb(s.K);
  const float wscale = 1.f / std::sqrt(float(s.C * s.R * s.S));
  for (auto& v : hx) v = nd(rng);
  for (auto& v : hw) v = nd(rng) * wscale;
  for (auto& v : hb) v = nd(rng);
  Buffer x(hx, bf16), w(hw, bf16), b(hb, bf16);
  const size_t out_count = size_t(s.N) * s.K * s.P() * s.Q();
  Buffer y_kiln(out_count, bf16), y_cudnn(out_count, bf16);

  kiln::kernels::Conv2dShape ks;
  ks.N = s.N, ks.C = s.C, ks.H = s.H, ks.W = s.W, ks.K = s.K, ks.R = s.R, ks.S = s.S, ks.P = s.P(), ks.Q = s.Q();
  ks.stride_h = ks.stride_w = s.stride;
  ks.pad_h = ks.pad_w = s.pad;
  const kiln::DType kdt = bf16 ? kiln::kBFloat16 : kiln::kFloat32;
  auto run_kiln = [&] { kiln::kernels::launch_conv2d_fwd(x.ptr, w.ptr, b.ptr, y_kiln.ptr, kdt, ks, stream); };

  // The reference cuDNN of the same math class, and for f32 also TF32 (informational).
  CudnnConv ref(handle, s, bf16, bf16 ? CUDNN_TENSOR_OP_MATH : CUDNN_FMA_MATH, x, w, y_cudnn);
  ref.run(x, w, b, y_cudnn);
  run_kiln();
  BENCH_CUDA(cudaStreamSynchronize(stream));
  const std::vector<float> got_kiln = y_kiln.download(), got_cudnn = y_cudnn.download();
  const double rtol = bf16 ? 2e-2 : 1e-4, atol = bf16 ? 2e-2 : 1e-4;
  const double e_vs_cudnn = full_error(got_kiln, got_cudnn, rtol, atol);
  const double e_kiln_cpu = sampled_error(s, got_kiln, hx, hw, hb, rtol, atol);
  const double e_cudnn_cpu = sampled_error(s, got_cudnn, hx, hw, hb, rtol, atol);
  const bool kiln_ok = e_vs_cudnn <= 1 && e_kiln_cpu <= 1, cudnn_ok = e_cudnn_cpu <= 1;
  if (!kiln_ok || !cudnn_ok)
    std::fprintf(stderr, "VALIDATION FAILED %s %s: kiln vs cuDNN %.3g, kiln vs CPU %.3g, cuDNN vs CPU %.3g (<= 1 passes)\n",
                 s.str().c_str(), dtype, e_vs_cudnn, e_kiln_cpu, e_cudnn_cpu);

  const double t_ref = bench::median_ms_on([&] { ref.run(x, w, b, y_cudnn); }, stream);
  const double t_kiln = bench::median_ms_on(run_kiln, stream);
  auto make = [&](const char* version, double ms, bool fma, bool valid) {
    Result r;
    r.shape_name = s.name, r.shape = s.str(), r.dtype = dtype, r.version = version;
    r.ms = ms;
    r.tflops = s.flops() / (ms * 1e-3) / 1e12;
    r.pct = fma && g_simt_peak_tflops > 0 ? r.tflops / g_simt_peak_tflops : -1;
    r.ratio = t_ref / ms;
    r.valid = valid;
    print_json(r);
    results.push_back(r);
  };
  make("kiln_implicit_gemm", t_kiln, true, kiln_ok);
  make(bf16 ? "cudnn_best_tensor_op" : "cudnn_best_fma", t_ref, !bf16, cudnn_ok);
  if (!bf16) {
    CudnnConv tf32(handle, s, false, CUDNN_DEFAULT_MATH, x, w, y_cudnn);
    make("cudnn_best_tf32_allowed", bench::median_ms_on([&] { tf32.run(x, w, b, y_cudnn); }, stream), false, true);
  }
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (!bench::gpu_present()) {
    std::printf("bench_conv2d: skipped: no CUDA device\n");
    return 0;
  }
  cudaDeviceProp prop{};
  BENCH_CUDA(cudaGetDeviceProperties(&prop, 0));
  g_device = prop.name;
  g_commit = bench::commit();
  int clock_khz = 0;
  if (cudaDeviceGetAttribute(&clock_khz, cudaDevAttrClockRate, 0) == cudaSuccess && clock_khz > 0)
    g_simt_peak_tflops = double(prop.multiProcessorCount) * 128 * 2 * clock_khz * 1e3 / 1e12;
  cudaStream_t stream;
  BENCH_CUDA(cudaStreamCreate(&stream));
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  BENCH_CUDNN(cudnnSetStream(handle, stream));

  std::vector<Result> results;
  for (const Shape& s : kShapes) {
    for (bool bf16 : {false, true}) bench_shape(s, bf16, handle, stream, results);
    if (quick) break;
  }

  std::printf("\n| shape | dtype | version | ms | TFLOP/s | %% of FMA peak | cuDNN time / time | valid |\n");
  std::printf("|---|---|---|---:|---:|---:|---:|---|\n");
  for (const Result& r : results) {
    char pct[32];
    if (r.pct >= 0) std::snprintf(pct, sizeof pct, "%.1f", 100 * r.pct);
    else std::snprintf(pct, sizeof pct, "-");
    std::printf("| %s | %s | %s | %.3f | %.2f | %s | %.2f | %s |\n", r.shape_name.c_str(), r.dtype.c_str(),
                r.version.c_str(), r.ms, r.tflops, pct, r.ratio, r.valid ? "yes" : "NO");
  }
  std::printf("\ndevice: %s, SIMT f32 FMA peak %.1f TFLOP/s, commit %s\n", g_device.c_str(), g_simt_peak_tflops,
              g_commit.c_str());
  cudnnDestroy(handle);
  cudaStreamDestroy(stream);
  return 0;
}
