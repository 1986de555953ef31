// Whether bf16 (or f16) autocast pays on this CPU: transformer-sized linear
// layers and an MLP stack, forward and forward + backward, in f32 and under
// AutocastGuard(kCPU, dtype), which is what AutocastGuard(dtype) would do on
// the CPU if kiln chose low precision there. Also the best case for kiln's
// low-precision matmul (inputs already bf16, no casts), and whether a real
// bf16 GEMM exists here: OpenBLAS's cblas_sbgemm (looked up at run time) and
// oneDNN's bf16 matmul (when kiln is built with oneDNN).
// One JSON line per measurement (median of `reps` calls after two warm-ups),
// in the kernel benchmarks' format; rate = 2*M*N*K per product / time.
// Usage: bench_autocast_cpu [reps]   (OMP_NUM_THREADS sets the threads)
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <string>
#include <vector>

#include <kiln/kiln.h>

#include "median_time.h"

#ifdef KILN_BENCH_ONEDNN
#include <dnnl.hpp>
#endif

namespace {

using namespace kiln;

using kiln::bench::median_ms;

// Versions of one computation, timed in rounds (one call of each per round)
// so that a change in the machine's load hits all of them alike; the first
// is the reference of ratio_vs_ref. A version sets up its own state (an
// autocast guard) inside its call.
struct Version {
  std::string name;
  const char* dtype;
  double flops;
  std::function<void()> run;
};

void compare(const std::string& shape, const std::vector<Version>& versions, int reps) {
  std::vector<std::vector<double>> ms(versions.size());
  for (const Version& v : versions) {
    v.run();
    v.run();
  }
  for (int r = 0; r < reps; ++r) {
    for (size_t i = 0; i < versions.size(); ++i) {
      const auto t0 = std::chrono::steady_clock::now();
      versions[i].run();
      ms[i].push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
  }
  std::vector<double> med;
  for (auto& m : ms) {
    std::sort(m.begin(), m.end());
    med.push_back(m[m.size() / 2]);
  }
  for (size_t i = 0; i < versions.size(); ++i) {
    std::printf(
        "{\"bench\": \"autocast_cpu\", \"version\": \"%s\", \"shape\": \"%s\", \"dtype\": \"%s\", \"ms\": %.4f, "
        "\"rate\": %.2f, \"unit\": \"GFLOP/s\", \"pct_of_ceiling\": null, \"ratio_vs_ref\": %.3f, \"device\": "
        "\"cpu\"}\n",
        versions[i].name.c_str(), shape.c_str(), versions[i].dtype, med[i], versions[i].flops / (med[i] * 1e6),
        med[0] / med[i]);
  }
  std::fflush(stdout);
}

const char* name_of(DType t) { return t == kBFloat16 ? "bf16" : "f16"; }

// One linear layer y = x W^T + b, x [M, K], W [N, K]: forward (no grad) and
// forward + backward, in f32; under autocast as a model sees it (f32
// activations and parameters; each call opens its own guard, so a
// parameter's cast is made once per call, as once per training step); and
// kiln's low-precision matmul at its best (operands already low, no casts).
void bench_linear(int64_t M, int64_t K, int64_t N, int reps) {
  manual_seed(0);
  Tensor x = randn({M, K}), w = (randn({N, K}) * 0.05).requires_grad_(), b = zeros({N}).requires_grad_();
  Tensor xg = x.detach().requires_grad_();
  const std::string shape = "linear [" + std::to_string(M) + ", " + std::to_string(K) + "] -> " + std::to_string(N);
  const double fwd = 2.0 * M * N * K;
  auto forward = [=] {
    NoGradGuard no_grad;
    linear(x, w, b);
  };
  auto step = [=] { autograd::grad({linear(xg, w, b).sum()}, {xg, w, b}); };
  std::vector<Version> fwd_versions{{"f32_fwd", "f32", fwd, forward}};
  std::vector<Version> step_versions{{"f32_fwd_bwd", "f32", 3 * fwd, step}};
  for (DType low : {kBFloat16, kFloat16}) {
    const std::string n = name_of(low);
    Tensor xl = x.to(low), wl = w.detach().to(low), bl = b.detach().to(low);
    fwd_versions.push_back({n + "_inputs_fwd", name_of(low), fwd, [xl, wl, bl] {
                              NoGradGuard no_grad;
                              linear(xl, wl, bl);
                            }});
    fwd_versions.push_back({"autocast_" + n + "_fwd", name_of(low), fwd, [forward, low] {
                              amp::AutocastGuard autocast(kCPU, low);
                              forward();
                            }});
    step_versions.push_back({"autocast_" + n + "_fwd_bwd", name_of(low), 3 * fwd, [step, low] {
                               amp::AutocastGuard autocast(kCPU, low);
                               step();
                             }});
  }
  compare(shape, fwd_versions, reps);
  compare(shape, step_versions, reps);
}

// A stack of pre-norm MLP blocks x + W2 gelu(W1 ln(x)), as in a
// transformer, forward + backward.
void bench_mlp_stack(int64_t tokens, int64_t width, int layers, int reps) {
  manual_seed(1);
  std::vector<Tensor> w1, w2, g, bta, params;
  for (int l = 0; l < layers; ++l) {
    w1.push_back((randn({4 * width, width}) * 0.02).requires_grad_());
    w2.push_back((randn({width, 4 * width}) * 0.02).requires_grad_());
    g.push_back(ones({width}).requires_grad_());
    bta.push_back(zeros({width}).requires_grad_());
    params.insert(params.end(), {w1.back(), w2.back(), g.back(), bta.back()});
  }
  Tensor x = randn({tokens, width});
  auto step = [=] {
    Tensor h = x;
    for (int l = 0; l < layers; ++l)
      h = h + linear(gelu(linear(layer_norm(h, {width}, g[l], bta[l]), w1[l]), "tanh"), w2[l]);
    autograd::grad({h.square().mean()}, params);
  };
  const std::string shape = std::to_string(layers) + " MLP blocks [" + std::to_string(tokens) + ", " +
                            std::to_string(width) + "] hidden " + std::to_string(4 * width);
  const double flops = 3 * 2.0 * 2 * tokens * width * 4 * width * layers;
  std::vector<Version> versions{{"f32_fwd_bwd", "f32", flops, step}};
  for (DType low : {kBFloat16, kFloat16})
    versions.push_back({std::string("autocast_") + name_of(low) + "_fwd_bwd", name_of(low), flops, [step, low] {
                          amp::AutocastGuard autocast(kCPU, low);
                          step();
                        }});
  compare(shape, versions, reps);
}

// Whether this machine has a bf16 GEMM kiln could call instead of widening.
void probe_real_bf16(int reps) {
  const bool sbgemm = dlsym(RTLD_DEFAULT, "cblas_sbgemm") != nullptr;
  std::printf("{\"bench\": \"autocast_cpu\", \"probe\": \"openblas cblas_sbgemm\", \"available\": %s}\n",
              sbgemm ? "true" : "false");
#ifdef KILN_BENCH_ONEDNN
  using dnnl::memory;
  dnnl::engine eng(dnnl::engine::kind::cpu, 0);
  dnnl::stream s(eng);
  const memory::dim M = 1024, K = 128, N = 512;
  for (auto dt : {memory::data_type::f32, memory::data_type::bf16}) {
    const char* name = dt == memory::data_type::f32 ? "f32" : "bf16";
    memory::desc a({M, K}, dt, memory::format_tag::ab), b({K, N}, dt, memory::format_tag::ab),
        c({M, N}, dt, memory::format_tag::ab);
    try {
      dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(a, b, c), eng);
      memory am(a, eng), bm(b, eng), cm(c, eng);
      dnnl::matmul product(pd);
      const double ms = median_ms(
          [&] {
            product.execute(s, {{DNNL_ARG_SRC, am}, {DNNL_ARG_WEIGHTS, bm}, {DNNL_ARG_DST, cm}});
            s.wait();
          },
          reps);
      std::printf(
          "{\"bench\": \"autocast_cpu\", \"probe\": \"onednn matmul %s\", \"available\": true, \"impl\": \"%s\", "
          "\"shape\": \"[1024, 128] x [128, 512]\", \"ms\": %.4f, \"rate\": %.2f, \"unit\": \"GFLOP/s\"}\n",
          name, pd.impl_info_str(), ms, 2.0 * M * N * K / (ms * 1e6));
    } catch (const dnnl::error& e) {
      std::printf("{\"bench\": \"autocast_cpu\", \"probe\": \"onednn matmul %s\", \"available\": false, "
                  "\"why\": \"%s\"}\n",
                  name, e.what());
    }
  }
#else
  std::printf("{\"bench\": \"autocast_cpu\", \"probe\": \"onednn matmul bf16\", \"available\": false, "
              "\"why\": \"benchmark built without oneDNN\"}\n");
#endif
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  const int reps = argc > 1 ? std::atoi(argv[1]) : 20;
  probe_real_bf16(reps);
  // char_gpt's default model (width 128, batch 16 x context 64 = 1024 tokens):
  // attention QKV, MLP up and down; then GPT-2 small's width.
  bench_linear(1024, 128, 384, reps);
  bench_linear(1024, 128, 512, reps);
  bench_linear(1024, 512, 128, reps);
  bench_linear(1024, 768, 3072, std::max(3, reps / 4));
  bench_mlp_stack(1024, 128, 4, reps);
  return 0;
}
