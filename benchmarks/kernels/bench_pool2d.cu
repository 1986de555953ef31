// 2-D pooling playground: kiln's max and average pooling forward
// (kernels/pool2d.cu, the production launchers, which the CUDA backend uses
// because cuDNN gives no argmax indices) against cuDNN's pooling forward, on
// ResNet-style shapes, in f32 and bf16.
//
// Versions, validated against a host f64 reference before timing:
//   kiln   kernels::launch_max_pool2d_fwd (values and int64 indices) /
//          kernels::launch_avg_pool2d_fwd (count_include_pad)
//   cudnn  cudnnPoolingForward (MAX / AVERAGE_COUNT_INCLUDE_PADDING; no indices)
// GB/s = bytes / (ms * 1e6), bytes = input read once + output written once
// (+ the int64 indices for kiln's max pool). ratio_vs_ref = cudnn ms / ms.
// Usage: bench_pool2d [--quick]   (--quick: first shape only)
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench_inputs.cuh"
#include "kernel_bench.cuh"
#include "kiln/core/half.h"
#include "pool2d.h"

namespace {

using kiln::BFloat16;
namespace kk = kiln::kernels;

struct Shape {
  int N, C, H, W, k, stride, pad;
  int Ho() const { return (H + 2 * pad - k) / stride + 1; }
  int Wo() const { return (W + 2 * pad - k) / stride + 1; }
  std::string str() const {
    char b[96];
    std::snprintf(b, sizeof b, "N%d_C%d_H%d_W%d_k%d_s%d_p%d", N, C, H, W, k, stride, pad);
    return b;
  }
};
const Shape kShapes[] = {{32, 64, 112, 112, 3, 2, 1}, {32, 256, 28, 28, 2, 2, 0}, {128, 32, 32, 32, 3, 1, 1}};


// Max or mean (window clipped to the padded input) of each window, in f64.
std::vector<double> reference(const std::vector<double>& x, const Shape& s, bool is_max) {
  std::vector<double> y;
  for (int64_t plane = 0; plane < int64_t(s.N) * s.C; ++plane)
    for (int oh = 0; oh < s.Ho(); ++oh)
      for (int ow = 0; ow < s.Wo(); ++ow) {
        const int h0 = oh * s.stride - s.pad, w0 = ow * s.stride - s.pad;
        double best = -INFINITY, total = 0;
        for (int h = std::max(h0, 0); h < std::min(h0 + s.k, s.H); ++h)
          for (int w = std::max(w0, 0); w < std::min(w0 + s.k, s.W); ++w) {
            const double v = x[(plane * s.H + h) * s.W + w];
            best = std::max(best, v);
            total += v;
          }
        const int hs = std::min(h0 + s.k, s.H + s.pad) - h0, ws = std::min(w0 + s.k, s.W + s.pad) - w0;
        y.push_back(is_max ? best : total / (hs * ws));
      }
  return y;
}

template <class T>
void bench_shape(bench::Report& report, cudnnHandle_t handle, const Shape& s) {
  const int64_t nx = int64_t(s.N) * s.C * s.H * s.W, ny = int64_t(s.N) * s.C * s.Ho() * s.Wo();
  std::vector<T> hx(nx);
  std::vector<double> xd(nx);
  bench::Lcg rng(5);
  for (int64_t i = 0; i < nx; ++i) {
    hx[i] = static_cast<T>(rng.uniform(-2.0f, 2.0f));
    xd[i] = static_cast<float>(hx[i]);
  }
  T *x = nullptr, *y = nullptr;
  int64_t* idx = nullptr;
  BENCH_CUDA(cudaMalloc(&x, nx * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&y, ny * sizeof(T)));
  BENCH_CUDA(cudaMalloc(&idx, ny * sizeof(int64_t)));
  BENCH_CUDA(cudaMemcpy(x, hx.data(), nx * sizeof(T), cudaMemcpyHostToDevice));
  kk::Pool2dShape ps;
  ps.planes = int64_t(s.N) * s.C;
  ps.H = s.H, ps.W = s.W, ps.Ho = s.Ho(), ps.Wo = s.Wo();
  ps.kernel_h = ps.kernel_w = s.k;
  ps.stride_h = ps.stride_w = s.stride;
  ps.pad_h = ps.pad_w = s.pad;
  ps.count_include_pad = true;
  cudnnTensorDescriptor_t xdesc, ydesc;
  cudnnPoolingDescriptor_t pmax, pavg;
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&xdesc));
  BENCH_CUDNN(cudnnCreateTensorDescriptor(&ydesc));
  BENCH_CUDNN(cudnnCreatePoolingDescriptor(&pmax));
  BENCH_CUDNN(cudnnCreatePoolingDescriptor(&pavg));
  bool cudnn_ok =
      BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(xdesc, CUDNN_TENSOR_NCHW, bench::cudnn_dtype<T>(), s.N, s.C, s.H, s.W)) &&
      BENCH_CUDNN_OK(cudnnSetTensor4dDescriptor(ydesc, CUDNN_TENSOR_NCHW, bench::cudnn_dtype<T>(), s.N, s.C, s.Ho(), s.Wo()));
  cudnn_ok = cudnn_ok &&
             BENCH_CUDNN_OK(cudnnSetPooling2dDescriptor(pmax, CUDNN_POOLING_MAX, CUDNN_NOT_PROPAGATE_NAN, s.k, s.k,
                                                        s.pad, s.pad, s.stride, s.stride)) &&
             BENCH_CUDNN_OK(cudnnSetPooling2dDescriptor(pavg, CUDNN_POOLING_AVERAGE_COUNT_INCLUDE_PADDING,
                                                        CUDNN_NOT_PROPAGATE_NAN, s.k, s.k, s.pad, s.pad, s.stride,
                                                        s.stride));
  const float one = 1.0f, zero = 0.0f;
  for (bool is_max : {true, false}) {
    const std::vector<double> want = reference(xd, s, is_max);
    const std::string shape = std::string(is_max ? "max_" : "avg_") + s.str();
    struct Version {
      std::string name;
      std::function<void()> run;
      double bytes;
    };
    const double io = (nx + ny) * double(sizeof(T));
    std::vector<Version> versions = {
        {"kiln",
         [&] {
           if (is_max) kk::launch_max_pool2d_fwd(x, y, idx, bench::kiln_dtype<T>(), ps, nullptr);
           else kk::launch_avg_pool2d_fwd(x, y, bench::kiln_dtype<T>(), ps, nullptr);
         },
         io + (is_max ? ny * 8.0 : 0.0)}};
    if (cudnn_ok)
      versions.push_back({"cudnn",
                          [&] {
                            if (!BENCH_CUDNN_OK(cudnnPoolingForward(handle, is_max ? pmax : pavg, &one, xdesc, x, &zero,
                                                                    ydesc, y)))
                              std::fprintf(stderr, "# cudnnPoolingForward refused %s\n", bench::dtype_label<T>());
                          },
                          io});
    const double tol = sizeof(T) == 4 ? 1e-5 : 1e-2;
    for (const Version& v : versions) {
      BENCH_CUDA(cudaMemset(y, 0xff, ny * sizeof(T)));
      v.run();
      BENCH_CUDA(cudaDeviceSynchronize());
      std::vector<T> got(ny);
      BENCH_CUDA(cudaMemcpy(got.data(), y, ny * sizeof(T), cudaMemcpyDeviceToHost));
      std::vector<double> gd(ny);
      for (int64_t i = 0; i < ny; ++i) gd[i] = static_cast<float>(got[i]);
      if (!bench::validate((shape + "/" + v.name).c_str(), gd, want, tol, tol)) continue;
      report.add(v.name, shape, bench::dtype_label<T>(), bench::median_ms(v.run), v.bytes);
    }
    report.set_reference(shape, bench::dtype_label<T>(), "cudnn");
  }
  cudnnDestroyPoolingDescriptor(pmax);
  cudnnDestroyPoolingDescriptor(pavg);
  cudnnDestroyTensorDescriptor(xdesc);
  cudnnDestroyTensorDescriptor(ydesc);
  BENCH_CUDA(cudaFree(x));
  BENCH_CUDA(cudaFree(y));
  BENCH_CUDA(cudaFree(idx));
}

}  // namespace

int main(int argc, char** argv) {
  const bool quick = argc > 1 && std::strcmp(argv[1], "--quick") == 0;
  if (!bench::gpu_present()) {
    std::printf("# bench_pool2d: skipped: no CUDA device\n");
    return 0;
  }
  bench::Report report("pool2d");
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  for (const Shape& s : kShapes) {
    bench_shape<float>(report, handle, s);
    bench_shape<BFloat16>(report, handle, s);
    if (quick) break;
  }
  cudnnDestroy(handle);
  report.print();
  return 0;
}
