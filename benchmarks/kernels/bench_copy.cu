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

#include "kernel_bench.cuh"

namespace {

__global__ void copy_float4(const float4* __restrict__ in, float4* __restrict__ out, size_t n) {
  for (size_t i = blockIdx.x * size_t(blockDim.x) + threadIdx.x; i < n; i += size_t(gridDim.x) * blockDim.x)
    out[i] = in[i];
}

struct Row {
  std::string version, shape;
  double ms, rate;
};

}  // namespace

int main() {
  if (!kiln::cuda::is_available()) {
    std::printf("# bench_copy: skipped: %s\n", kiln::cuda::unavailable_reason().c_str());
    return 0;
  }
  const std::string device = kiln::cuda::get_device_properties(0).name;
  const std::string commit = bench::commit();
  std::vector<Row> rows;

  const size_t bytes = size_t(1) << 30;  // 1 GiB: far beyond L2
  void *src = nullptr, *dst = nullptr;
  BENCH_CUDA(cudaMalloc(&src, bytes));
  BENCH_CUDA(cudaMalloc(&dst, bytes));
  BENCH_CUDA(cudaMemset(src, 1, bytes));
  const double d2d_memcpy = bench::mean_ms([&] { BENCH_CUDA(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice)); }, 20);
  const size_t n4 = bytes / sizeof(float4);
  const int sms = kiln::cuda::get_device_properties(0).multiprocessors;
  const double d2d_kernel = bench::mean_ms(
      [&] {
        copy_float4<<<sms * 8, 256>>>(static_cast<const float4*>(src), static_cast<float4*>(dst), n4);
        BENCH_CUDA(cudaGetLastError());
      },
      20);
  rows.push_back({"cudaMemcpy_d2d", "1GiB", d2d_memcpy, 2.0 * bytes / (d2d_memcpy * 1e-3) / 1e9});
  rows.push_back({"float4_kernel_d2d", "1GiB", d2d_kernel, 2.0 * bytes / (d2d_kernel * 1e-3) / 1e9});
  BENCH_CUDA(cudaFree(src));
  BENCH_CUDA(cudaFree(dst));
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
  add("kiln_h2d_pageable", bench::mean_ms([&] { kiln::Tensor t = pageable.to(gpu); }, 5));
  add("kiln_h2d_pinned", bench::mean_ms([&] { kiln::Tensor t = pinned.to(gpu, true); }, 5));
  add("kiln_d2h", bench::mean_ms([&] { kiln::Tensor t = on_gpu.cpu(); }, 5));

  for (const Row& r : rows) {
    const bool d2d = r.version.find("d2d") != std::string::npos;
    bench::Result j;
    j.bench = "copy", j.version = r.version, j.shape = r.shape, j.dtype = "bytes";
    j.ms = r.ms, j.rate = r.rate, j.unit = "GB/s";
    j.pct_of_ceiling = d2d ? r.rate / ceiling * 100 : 0.0;
    j.ratio_vs_ref = r.rate / rows[0].rate;
    bench::print_json(j, device, commit, {4, 1, 1, 3});
  }
  std::printf("\n### copy bandwidth, %s (device ceiling %.0f GB/s)\n\n", device.c_str(), ceiling);
  std::printf("| version | size | ms | GB/s |\n|---|---|---|---|\n");
  for (const Row& r : rows) std::printf("| %s | %s | %.4f | %.1f |\n", r.version.c_str(), r.shape.c_str(), r.ms, r.rate);
  return 0;
}
