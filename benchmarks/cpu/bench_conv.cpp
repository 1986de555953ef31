// CPU convolution: im2col + sgemm vs oneDNN's primitives on the Fashion-MNIST
// CNN shapes (3x3, padding 1). Validates the two against each other, then
// times forward and backward (weight+bias grads, plus input grad where the
// layer needs it) after warm-up. One JSON line per measurement.
//
//   OMP_NUM_THREADS=2 ./bench_conv [batch=64] [iters=20]
//
// Results (batch 64, ms per call) are quoted in default_conv_impl() in
// src/cpu/conv2d_cpu.cpp, where kiln times both at first use.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "core/tensor_impl.h"
#include "cpu/conv2d_cpu.h"
#include "kiln/kiln.h"

using namespace kiln;

namespace {

struct Case {
  const char* name;
  int64_t C, O, H, W;
  bool needs_gx;
};

template <class Fn>
double median_ms(int iters, Fn fn) {
  for (int i = 0; i < 3; ++i) fn();
  std::vector<double> t;
  for (int i = 0; i < iters; ++i) {
    auto a = std::chrono::steady_clock::now();
    fn();
    auto b = std::chrono::steady_clock::now();
    t.push_back(std::chrono::duration<double, std::milli>(b - a).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

double max_diff(const Tensor& a, const Tensor& b) { return (a - b).abs().max().item<double>(); }

}  // namespace

int main(int argc, char** argv) {
  const int64_t N = argc > 1 ? std::atoll(argv[1]) : 64;
  const int iters = argc > 2 ? std::atoi(argv[2]) : 20;
  const Case cases[] = {{"conv1_1x28x28_to_32", 1, 32, 28, 28, false}, {"conv2_32x14x14_to_64", 32, 64, 14, 14, true}};
  detail::Conv2dParams p;
  p.padding = {1, 1};
  manual_seed(0);
  const bool have_dnnl = cpu::onednn_available();
  for (const Case& c : cases) {
    Tensor x = randn({N, c.C, c.H, c.W}), w = randn({c.O, c.C, 3, 3}) * 0.1, b = randn({c.O});
    Tensor y1 = empty({N, c.O, c.H, c.W}), y2 = empty({N, c.O, c.H, c.W}), gy = randn({N, c.O, c.H, c.W});
    Tensor gx1 = c.needs_gx ? empty(x.sizes()) : Tensor(), gw1 = empty(w.sizes()), gb1 = empty({c.O});
    Tensor gx2 = c.needs_gx ? empty(x.sizes()) : Tensor(), gw2 = empty(w.sizes()), gb2 = empty({c.O});
    cpu::conv2d_forward_im2col(x, w, b, p, y1);
    cpu::conv2d_backward_im2col(gy, x, w, p, gx1, gw1, gb1);
    if (have_dnnl) {
      cpu::conv2d_forward_onednn(x, w, b, p, y2);
      cpu::conv2d_backward_onednn(gy, x, w, p, gx2, gw2, gb2);
      std::printf("# %s: max |im2col - onednn|: y %.2e gw %.2e gb %.2e gx %.2e\n", c.name, max_diff(y1, y2),
                  max_diff(gw1, gw2), max_diff(gb1, gb2), c.needs_gx ? max_diff(gx1, gx2) : 0.0);
    }
    // FLOPs: 2*N*O*Ho*Wo*C*9 per pass; backward does 1 (weights) or 2 (plus input) passes.
    const double flop = 2.0 * static_cast<double>(N * c.O * c.H * c.W * c.C * 9);
    auto report = [&](const char* version, const char* pass, double ms, double passes) {
      std::printf("{\"bench\":\"conv2d_cpu\",\"version\":\"%s\",\"shape\":\"%s N=%lld\",\"pass\":\"%s\",\"dtype\":"
                  "\"f32\",\"ms\":%.3f,\"gflops\":%.1f,\"device\":\"cpu\"}\n",
                  version, c.name, static_cast<long long>(N), pass, ms, passes * flop / ms / 1e6);
    };
    const double bwd_passes = c.needs_gx ? 2.0 : 1.0;
    report("im2col_sgemm", "fwd", median_ms(iters, [&] { cpu::conv2d_forward_im2col(x, w, b, p, y1); }), 1.0);
    report("im2col_sgemm", "bwd",
           median_ms(iters, [&] { cpu::conv2d_backward_im2col(gy, x, w, p, gx1, gw1, gb1); }), bwd_passes);
    if (have_dnnl) {
      report("onednn", "fwd", median_ms(iters, [&] { cpu::conv2d_forward_onednn(x, w, b, p, y2); }), 1.0);
      report("onednn", "bwd", median_ms(iters, [&] { cpu::conv2d_backward_onednn(gy, x, w, p, gx2, gw2, gb2); }),
             bwd_passes);
    }
  }
  return 0;
}
