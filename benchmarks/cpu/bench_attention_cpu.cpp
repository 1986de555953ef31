// kiln's CPU scaled_dot_product_attention (src/cpu/attention_cpu.cpp),
// forward and forward + backward, f32, on one shape per call, printing one
// JSON line per measurement in the kernel benchmarks' format (the median of
// `reps` timed calls after two warm-up calls). benchmarks/kernels/
// torch_attention_layer_norm.py --device cpu --kiln <this executable> runs
// it shape by shape between PyTorch's timings of the same shapes, so the
// two share one run of a noisy machine.
// Usage: bench_attention_cpu [B H T D causal reps]; without arguments, the
// default shape list.
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "median_time.h"

namespace {

using kiln::bench::median_ms;

void line(const char* version, const std::string& shape, double ms, double flops) {
  std::printf(
      "{\"bench\": \"attention_cpu\", \"version\": \"%s\", \"shape\": \"%s\", \"dtype\": \"f32\", \"ms\": %.4f, "
      "\"rate\": %.2f, \"unit\": \"GFLOP/s\", \"pct_of_ceiling\": null, \"ratio_vs_ref\": null, \"device\": \"cpu\"}\n",
      version, shape.c_str(), ms, flops / (ms * 1e6));
  std::fflush(stdout);
}

void run(int64_t B, int64_t H, int64_t T, int64_t D, bool causal, int reps) {
  using namespace kiln;
  manual_seed(0);
  Tensor q = randn({B, H, T, D}), k = randn({B, H, T, D}), v = randn({B, H, T, D});
  Tensor g = randn({B, H, T, D});
  const std::string shape = "[" + std::to_string(B) + ", " + std::to_string(H) + ", " + std::to_string(T) + ", " +
                            std::to_string(D) + "]" + (causal ? " causal" : "");
  const double fwd_flops = 4.0 * B * H * T * T * D * (causal ? 0.5 : 1.0);
  {
    NoGradGuard no_grad;
    line("kiln_fwd", shape, median_ms([&] { scaled_dot_product_attention(q, k, v, Tensor(), 0.0, causal); }, reps),
         fwd_flops);
  }
  Tensor qg = q.detach().requires_grad_(), kg = k.detach().requires_grad_(), vg = v.detach().requires_grad_();
  line("kiln_fwd_bwd", shape,
       median_ms(
           [&] {
             Tensor out = scaled_dot_product_attention(qg, kg, vg, Tensor(), 0.0, causal);
             autograd::grad({sum(out * g)}, {qg, kg, vg});
           },
           reps),
       3.5 * fwd_flops);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 7) {
    run(std::atoll(argv[1]), std::atoll(argv[2]), std::atoll(argv[3]), std::atoll(argv[4]), std::atoi(argv[5]) != 0,
        std::atoi(argv[6]));
    return 0;
  }
  // char_gpt's default attention (batch 16, 4 heads of 32, context 64), then longer contexts.
  run(16, 4, 64, 32, true, 50);
  run(4, 8, 256, 64, true, 20);
  run(1, 12, 1024, 64, true, 10);
  return 0;
}
