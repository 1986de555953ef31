// Fused optimizer playground: one multi-tensor Adam step (kernels/optim.cu,
// the production launcher) over a ResNet-50-like list of parameters, against
// the same kernel launched once per tensor, and against a device-to-device
// copy of the same number of bytes (the bandwidth ceiling).
//
// Validation first: the fused and per-tensor steps must give bit-identical
// parameters (same arithmetic, different launch packing), and one sampled
// element per tensor is checked against a double-precision host Adam step.
// Timing: CUDA events, 5 warm-up steps, median of 25.
//   Adam bytes per element (f32): read p, g, m, v (16) + write p, m, v (12) = 28
//   rate (GB/s) = 28 * elements / t;  copy rate = 2 * bytes / t
//   pct_of_ceiling = rate / copy rate;  ratio_vs_ref = per-tensor time / time
// Output: JSON lines, then a Markdown table.
#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include "kernel_bench.cuh"
#include "optim.h"

namespace {

// Roughly ResNet-50's parameter list: conv weights of many sizes plus a
// pair of small batch-norm vectors after each (161 tensors, ~25.5M values).
std::vector<int64_t> resnet50_like_sizes() {
  std::vector<int64_t> sizes = {64 * 3 * 7 * 7, 64, 64};
  const int widths[] = {64, 128, 256, 512};
  const int blocks[] = {3, 4, 6, 3};
  int in = 64;
  for (int stage = 0; stage < 4; ++stage) {
    const int w = widths[stage], out = w * 4;
    for (int b = 0; b < blocks[stage]; ++b) {
      sizes.insert(sizes.end(), {int64_t(w) * in, w, w, int64_t(w) * w * 9, w, w, int64_t(out) * w, out, out});
      if (b == 0) sizes.insert(sizes.end(), {int64_t(out) * in, out, out});
      in = out;
    }
  }
  sizes.insert(sizes.end(), {2048 * 1000, 1000});
  return sizes;
}

// One set of Adam buffers (p, g, m, v) for every tensor, in one allocation each.
struct State {
  std::vector<int64_t> sizes, offsets;
  int64_t total = 0;
  float *p = nullptr, *g = nullptr, *m = nullptr, *v = nullptr;
  explicit State(const std::vector<int64_t>& s) : sizes(s) {
    for (int64_t n : sizes) {
      offsets.push_back(total);
      total += (n + 63) / 64 * 64;  // keep every tensor 256-byte aligned
    }
    for (float** b : {&p, &g, &m, &v}) BENCH_CUDA(cudaMalloc(b, total * sizeof(float)));
  }
  ~State() {
    for (float* b : {p, g, m, v}) cudaFree(b);
  }
  void upload(const std::vector<float>& hp, const std::vector<float>& hg) {
    BENCH_CUDA(cudaMemcpy(p, hp.data(), total * 4, cudaMemcpyHostToDevice));
    BENCH_CUDA(cudaMemcpy(g, hg.data(), total * 4, cudaMemcpyHostToDevice));
    BENCH_CUDA(cudaMemset(m, 0, total * 4));
    BENCH_CUDA(cudaMemset(v, 0, total * 4));
  }
  std::vector<kiln::kernels::AdamTensor> tensors() const {
    std::vector<kiln::kernels::AdamTensor> out;
    for (size_t i = 0; i < sizes.size(); ++i) {
      kiln::kernels::AdamTensor t;
      t.param = p + offsets[i];
      t.grad = g + offsets[i];
      t.exp_avg = m + offsets[i];
      t.exp_avg_sq = v + offsets[i];
      t.numel = sizes[i];
      out.push_back(t);
    }
    return out;
  }
};

}  // namespace

int main() {
  if (!bench::gpu_present()) {
    std::printf("bench_optim: skipped: no CUDA device\n");
    return 0;
  }
  const std::string device = bench::device_name(), commit = bench::commit();
  cudaStream_t stream;
  BENCH_CUDA(cudaStreamCreate(&stream));

  const std::vector<int64_t> sizes = resnet50_like_sizes();
  int64_t elements = 0;
  for (int64_t n : sizes) elements += n;
  State fused(sizes), single(sizes);
  std::vector<float> hp(fused.total), hg(fused.total);
  std::mt19937 rng(3);
  std::normal_distribution<float> nd(0.f, 1.f);
  for (auto& x : hp) x = nd(rng);
  for (auto& x : hg) x = nd(rng);
  fused.upload(hp, hg);
  single.upload(hp, hg);

  kiln::kernels::AdamHyper h;
  h.lr = 1e-3, h.weight_decay = 0.01, h.decoupled_weight_decay = true, h.step = 1;
  const auto fused_list = fused.tensors(), single_list = single.tensors();
  auto step_fused = [&] { kiln::kernels::launch_adam_update(fused_list, kiln::kFloat32, h, stream); };
  auto step_single = [&] {
    for (const auto& t : single_list) kiln::kernels::launch_adam_update({t}, kiln::kFloat32, h, stream);
  };

  // --- validate one step of each.
  step_fused();
  step_single();
  BENCH_CUDA(cudaStreamSynchronize(stream));
  std::vector<float> pf(fused.total), ps(single.total);
  BENCH_CUDA(cudaMemcpy(pf.data(), fused.p, fused.total * 4, cudaMemcpyDeviceToHost));
  BENCH_CUDA(cudaMemcpy(ps.data(), single.p, single.total * 4, cudaMemcpyDeviceToHost));
  bool valid = true;
  double worst = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t o = fused.offsets[i];
    for (int64_t j = 0; j < sizes[i]; ++j)
      if (pf[o + j] != ps[o + j]) valid = false;
    const int64_t j = o + sizes[i] / 2;  // host Adam step 1 with m = v = 0
    const double g = hg[j], p0 = hp[j] * (1 - h.lr * h.weight_decay);
    const double m = (1 - h.beta1) * g, v = (1 - h.beta2) * g * g;
    const double want = p0 - h.lr / (1 - h.beta1) * m / (std::sqrt(v) / std::sqrt(1 - h.beta2) + h.eps);
    worst = std::max(worst, std::fabs(pf[j] - want) / (1e-6 + 1e-5 * std::fabs(want)));
  }
  if (worst > 1) valid = false;
  if (!valid) std::fprintf(stderr, "VALIDATION FAILED: fused/per-tensor differ or host error %.3g (<= 1 passes)\n", worst);

  // --- time.
  const double t_fused = bench::median_ms_on(step_fused, stream);
  const double t_single = bench::median_ms_on(step_single, stream);
  float* copy_dst = nullptr;
  const size_t copy_bytes = size_t(elements) * 28 / 2;  // same traffic: read + write of half the Adam bytes
  BENCH_CUDA(cudaMalloc(&copy_dst, copy_bytes * 2));
  const double t_copy = bench::median_ms_on(
      [&] {
        BENCH_CUDA(cudaMemcpyAsync(copy_dst, reinterpret_cast<char*>(copy_dst) + copy_bytes, copy_bytes,
                                   cudaMemcpyDeviceToDevice, stream));
      },
      stream);
  const double adam_bytes = 28.0 * elements;
  const double copy_gbs = 2.0 * copy_bytes / (t_copy * 1e-3) / 1e9;
  struct Row {
    const char* version;
    double ms, gbs;
  } rows[] = {{"adam_fused_multi_tensor", t_fused, adam_bytes / (t_fused * 1e-3) / 1e9},
              {"adam_per_tensor_launches", t_single, adam_bytes / (t_single * 1e-3) / 1e9},
              {"cudaMemcpy_d2d_same_bytes", t_copy, copy_gbs}};
  char shape[96];
  std::snprintf(shape, sizeof shape, "%zu_tensors_%lld_elements", sizes.size(), static_cast<long long>(elements));
  for (const Row& r : rows) {
    bench::Result j;
    j.bench = "adam_step", j.version = r.version, j.shape = shape, j.dtype = "f32";
    j.ms = r.ms, j.rate = r.gbs, j.unit = "GB/s";
    j.pct_of_ceiling = r.gbs / copy_gbs, j.ratio_vs_ref = t_single / r.ms;
    bench::print_json(j, device, commit, {5, 1, 4, 4}, valid ? "\"valid\": true, " : "\"valid\": false, ");
  }
  std::printf("\n| version | ms | GB/s | %% of copy bandwidth | per-tensor time / time |\n|---|---:|---:|---:|---:|\n");
  for (const Row& r : rows)
    std::printf("| %s | %.3f | %.0f | %.1f | %.2f |\n", r.version, r.ms, r.gbs, 100 * r.gbs / copy_gbs, t_single / r.ms);
  std::printf("\n%s, device %s, commit %s, validation %s\n", shape, device.c_str(), commit.c_str(), valid ? "passed" : "FAILED");
  cudaFree(copy_dst);
  cudaStreamDestroy(stream);
  return valid ? 0 : 1;
}
