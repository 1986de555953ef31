// Copy bandwidth: the memory ceiling that bandwidth-bound kernels are judged
// against, and kiln's host<->device transfer path.
//
// device-to-device: cudaMemcpyAsync and a plain float4 grid-stride copy
//   kernel; GB/s = 2 * bytes / seconds / 1e9 (each byte is read and written).
// host<->device: kiln::Tensor::to() from pageable and from pinned memory
//   (kiln::cuda::pin_memory), and the reverse; GB/s = bytes / seconds / 1e9.
// pct_of_ceiling compares device copies with the best device-to-device rate.
//
// Output: one JSON line per measurement, then a Markdown table.
#include <cuda_runtime.h>

#include <kiln/kiln.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#define BENCH_CHECK(expr)                                                                                  \
  do {                                                                                                     \
    cudaError_t bench_err_ = (expr);                                                                       \
    if (bench_err_ != cudaSuccess) {                                                                       \
      std::fprintf(stderr, "%s failed: %s at %s:%d\n", #expr, cudaGetErrorString(bench_err_), __FILE__, \
                   __LINE__);                                                                              \
      std::exit(1);                                                                                        \
    }                                                                                                      \
  } while (0)

namespace {

__global__ void copy_float4(const float4* __restrict__ in, float4* __restrict__ out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = in[i];
}

template <class F>
double time_ms(F&& f, int iters) {
  f();  // warm-up
  BENCH_CHECK(cudaDeviceSynchronize());
  cudaEvent_t s, e;
  BENCH_CHECK(cudaEventCreate(&s));
  BENCH_CHECK(cudaEventCreate(&e));
  BENCH_CHECK(cudaEventRecord(s));
  for (int i = 0; i < iters; ++i) f();
  BENCH_CHECK(cudaEventRecord(e));
  BENCH_CHECK(cudaEventSynchronize(e));
  float ms = 0;
  BENCH_CHECK(cudaEventElapsedTime(&ms, s, e));
  cudaEventDestroy(s);
  cudaEventDestroy(e);
  return ms / iters;
}

struct Row {
  std::string version, shape;
  double ms, rate;
};

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

int main() {
  if (!kiln::cuda::is_available()) {
    std::printf("# bench_copy: skipped: %s\n", kiln::cuda::unavailable_reason().c_str());
    return 0;
  }
  const std::string device = kiln::cuda::get_device_properties(0).name;
  const std::string commit = env_or("KILN_COMMIT", "unknown");
  std::vector<Row> rows;

  const size_t bytes = size_t(1) << 30;  // 1 GiB: far beyond L2
  void *src = nullptr, *dst = nullptr;
  BENCH_CHECK(cudaMalloc(&src, bytes));
  BENCH_CHECK(cudaMalloc(&dst, bytes));
  BENCH_CHECK(cudaMemset(src, 1, bytes));
  const double d2d_memcpy = time_ms([&] { BENCH_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)); }, 20);
  const size_t n4 = bytes / sizeof(float4);
  const int sms = kiln::cuda::get_device_properties(0).multiprocessors;
  const double d2d_kernel = time_ms(
      [&] {
        copy_float4<<<sms * 8, 256>>>(static_cast<const float4*>(src), static_cast<float4*>(dst), n4);
        BENCH_CHECK(cudaGetLastError());
      },
      20);
  rows.push_back({"cudaMemcpy_d2d", "1GiB", d2d_memcpy, 2.0 * bytes / (d2d_memcpy * 1e-3) / 1e9});
  rows.push_back({"float4_kernel_d2d", "1GiB", d2d_kernel, 2.0 * bytes / (d2d_kernel * 1e-3) / 1e9});
  BENCH_CHECK(cudaFree(src));
  BENCH_CHECK(cudaFree(dst));
  const double ceiling = std::max(rows[0].rate, rows[1].rate);

  // Host <-> device through kiln (256 MiB of float32).
  const int64_t n = int64_t(64) << 20;
  const size_t hbytes = size_t(n) * 4;
  kiln::Tensor pageable = kiln::zeros({n});
  kiln::Tensor pinned = kiln::cuda::pin_memory(pageable);
  const kiln::Device gpu("cuda:0");
  kiln::Tensor on_gpu = pageable.to(gpu);
  auto add = [&](const char* version, double ms) {
    rows.push_back({version, "256MiB", ms, hbytes / (ms * 1e-3) / 1e9});
  };
  add("kiln_h2d_pageable", time_ms([&] { kiln::Tensor t = pageable.to(gpu); }, 5));
  add("kiln_h2d_pinned", time_ms([&] { kiln::Tensor t = pinned.to(gpu, true); }, 5));
  add("kiln_d2h", time_ms([&] { kiln::Tensor t = on_gpu.cpu(); }, 5));

  for (const Row& r : rows) {
    const bool d2d = r.version.find("d2d") != std::string::npos;
    std::printf(
        "{\"bench\": \"copy\", \"version\": \"%s\", \"shape\": \"%s\", \"dtype\": \"bytes\", \"ms\": %.4f, "
        "\"rate\": %.1f, \"unit\": \"GB/s\", \"pct_of_ceiling\": %.1f, \"ratio_vs_ref\": %.3f, \"device\": \"%s\", "
        "\"commit\": \"%s\"}\n",
        r.version.c_str(), r.shape.c_str(), r.ms, r.rate, d2d ? r.rate / ceiling * 100 : 0.0, r.rate / rows[0].rate,
        device.c_str(), commit.c_str());
  }
  std::printf("\n### copy bandwidth, %s (device ceiling %.0f GB/s)\n\n", device.c_str(), ceiling);
  std::printf("| version | size | ms | GB/s |\n|---|---|---|---|\n");
  for (const Row& r : rows) std::printf("| %s | %s | %.4f | %.1f |\n", r.version.c_str(), r.shape.c_str(), r.ms, r.rate);
  return 0;
}
