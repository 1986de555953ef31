// Reduction playground: f32 sums of a [R, C] array over dim 1 (rows) or
// dim 0 (columns), shapes that exercise each path of kernels/reduce.cu:
// one long row (split over blocks, two passes), many rows (block per row),
// columns (thread per output).
//
// Versions, all validated against a host f64 reference before timing:
//   naive   one thread per output, serial f64 loop (llm.c "version 1")
//   kiln    the production launcher kernels::launch_reduce (+ its workspace)
//   cudnn   cudnnReduceTensor(CUDNN_REDUCE_TENSOR_ADD)
// GB/s = (R * C + outputs) * 4 / (ms * 1e6); pct_of_ceiling against the
// measured cudaMemcpy device-to-device rate; ratio_vs_ref = cudnn ms / ms.
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "bench_inputs.cuh"
#include "kernel_bench.cuh"
#include "kernels.h"

namespace {

namespace kk = kiln::kernels;

__global__ void naive_sum(const float* x, float* out, int64_t outputs, int64_t n, int64_t out_stride,
                          int64_t elem_stride) {
  const int64_t o = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  if (o >= outputs) return;
  double acc = 0;
  for (int64_t k = 0; k < n; ++k) acc += x[o * out_stride + k * elem_stride];
  out[o] = static_cast<float>(acc);
}

struct Case {
  int64_t rows, cols;
  int dim;  // reduced dim
};

}  // namespace

int main() {
  if (!bench::gpu_present()) {
    std::printf("# bench_reduce: skipped: no CUDA device\n");
    return 0;
  }
  bench::Report report("reduce");
  cudnnHandle_t handle;
  BENCH_CUDNN(cudnnCreate(&handle));
  const Case cases[] = {{1, int64_t(1) << 24, 1}, {8192, 8192, 1}, {8192, 8192, 0}, {65536, 64, 1}};
  for (const Case& c : cases) {
    const int64_t n = c.rows * c.cols;
    const int64_t outputs = c.dim == 1 ? c.rows : c.cols, n_red = c.dim == 1 ? c.cols : c.rows;
    std::vector<float> hx(n);
    bench::Lcg rng(42);
    for (auto& v : hx) v = rng.uniform(-1.0f, 1.0f);
    std::vector<double> want(outputs, 0.0);
    for (int64_t r = 0; r < c.rows; ++r)
      for (int64_t k = 0; k < c.cols; ++k) want[c.dim == 1 ? r : k] += hx[r * c.cols + k];
    float *x = nullptr, *out = nullptr;
    BENCH_CUDA(cudaMalloc(&x, n * 4));
    BENCH_CUDA(cudaMalloc(&out, outputs * 4));
    BENCH_CUDA(cudaMemcpy(x, hx.data(), n * 4, cudaMemcpyHostToDevice));

    kk::StridedArray xa, oa;
    xa.data = x;
    xa.ndim = 2;
    xa.sizes[0] = c.rows;
    xa.sizes[1] = c.cols;
    xa.strides[0] = c.cols;
    xa.strides[1] = 1;
    oa = xa;
    oa.data = out;
    oa.sizes[c.dim] = 1;
    oa.strides[0] = c.dim == 1 ? 1 : c.cols;
    oa.strides[1] = 1;
    const uint32_t mask = 1u << c.dim;
    void* ws = nullptr;
    const size_t ws_bytes = kk::reduce_workspace_bytes(kk::ReduceOp::Sum, xa, mask);
    if (ws_bytes) BENCH_CUDA(cudaMalloc(&ws, ws_bytes));

    // cuDNN: x as [1, rows, cols, 1], out with the reduced extent 1.
    cudnnTensorDescriptor_t xd, od;
    cudnnReduceTensorDescriptor_t rd;
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&xd));
    BENCH_CUDNN(cudnnCreateTensorDescriptor(&od));
    BENCH_CUDNN(cudnnCreateReduceTensorDescriptor(&rd));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(xd, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, (int)c.rows, (int)c.cols, 1));
    BENCH_CUDNN(cudnnSetTensor4dDescriptor(od, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, 1, c.dim == 1 ? (int)c.rows : 1,
                                           c.dim == 1 ? 1 : (int)c.cols, 1));
    BENCH_CUDNN(cudnnSetReduceTensorDescriptor(rd, CUDNN_REDUCE_TENSOR_ADD, CUDNN_DATA_FLOAT, CUDNN_NOT_PROPAGATE_NAN,
                                               CUDNN_REDUCE_TENSOR_NO_INDICES, CUDNN_32BIT_INDICES));
    size_t cudnn_ws_bytes = 0;
    BENCH_CUDNN(cudnnGetReductionWorkspaceSize(handle, rd, xd, od, &cudnn_ws_bytes));
    void* cudnn_ws = nullptr;
    if (cudnn_ws_bytes) BENCH_CUDA(cudaMalloc(&cudnn_ws, cudnn_ws_bytes));
    const float one = 1.0f, zero = 0.0f;

    struct Version {
      std::string name;
      std::function<void()> run;
    };
    const std::vector<Version> versions = {
        {"naive",
         [&] {
           naive_sum<<<(unsigned)((outputs + 255) / 256), 256>>>(x, out, outputs, n_red, c.dim == 1 ? c.cols : 1,
                                                                  c.dim == 1 ? 1 : c.cols);
         }},
        {"kiln", [&] { kk::launch_reduce(kk::ReduceOp::Sum, xa, mask, oa, ws, nullptr); }},
        {"cudnn",
         [&] {
           BENCH_CUDNN(cudnnReduceTensor(handle, rd, nullptr, 0, cudnn_ws, cudnn_ws_bytes, &one, xd, x, &zero, od, out));
         }},
    };
    const std::string shape = "[" + std::to_string(c.rows) + ", " + std::to_string(c.cols) + "] dim " +
                              std::to_string(c.dim);
    for (const Version& v : versions) {
      BENCH_CUDA(cudaMemset(out, 0xff, outputs * 4));  // NaN poison
      v.run();
      BENCH_CUDA(cudaDeviceSynchronize());
      std::vector<float> got(outputs);
      BENCH_CUDA(cudaMemcpy(got.data(), out, outputs * 4, cudaMemcpyDeviceToHost));
      const double atol = 1e-5 * std::sqrt(static_cast<double>(n_red)) * 8;
      if (!bench::validate((shape + "/" + v.name).c_str(), std::vector<double>(got.begin(), got.end()), want, 1e-5,
                           atol))
        continue;
      report.add(v.name, shape, "f32", bench::median_ms(v.run, v.name == "naive" ? 5 : bench::kRuns),
                 (n + outputs) * 4.0);
    }
    report.set_reference(shape, "f32", "cudnn");
    cudnnDestroyReduceTensorDescriptor(rd);
    cudnnDestroyTensorDescriptor(xd);
    cudnnDestroyTensorDescriptor(od);
    if (cudnn_ws) BENCH_CUDA(cudaFree(cudnn_ws));
    if (ws) BENCH_CUDA(cudaFree(ws));
    BENCH_CUDA(cudaFree(x));
    BENCH_CUDA(cudaFree(out));
  }
  cudnnDestroy(handle);
  report.print();
  return 0;
}
