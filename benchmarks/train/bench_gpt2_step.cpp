// A GPT-2 124M training step on one GPU: nn::GPT (12 layers, 12 heads, 768
// wide, 1024 positions, 50257 tokens), cross-entropy, backward, AdamW with
// weight decay on the matrices, on random tokens, batch x 1024 tokens.
// Reports tokens/s and the model-FLOPs utilisation
//   MFU = (6 N + 6 L C T) * tokens/s / ceiling
// (N the parameter count, 124,439,808; 6 L C T the causal attention's
// matmuls per token; ceiling the bf16 matmul rate measured in the same
// run: kiln::matmul of bf16 [8192, 8192] tensors, [4096, 4096] in quick
// mode, which is one cuBLASLt call with f32 accumulation). kiln's mixed precision (kiln/amp) is not in this build, so the
// step runs in f32 (TF32 tensor cores with --tf32); the bf16 ceiling is
// still the one MFU is quoted against, as in PyTorch's and llm.c's figures.
// benchmarks/train/gpt_torch.py --preset gpt2 [--compile] is the PyTorch peer.
//   bench_gpt2_step [--quick] [--batch B] [--steps N] [--tf32]
// Without a CUDA device it prints "skipped: no CUDA device" and exits 0.
#include <kiln/kiln.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// The median of 10 timed bf16 matmuls (after 3 warm-ups), in TFLOP/s.
double bf16_ceiling_tflops(int64_t n, const kiln::Device& device) {
  const kiln::Tensor a = kiln::randn({n, n}).to(device, kiln::kBFloat16);
  const kiln::Tensor b = kiln::randn({n, n}).to(device, kiln::kBFloat16);
  for (int i = 0; i < 3; ++i) kiln::matmul(a, b);
  kiln::cuda::synchronize();
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = Clock::now();
    kiln::matmul(a, b);
    kiln::cuda::synchronize();
    ms.push_back(1e3 * std::chrono::duration<double>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return 2.0 * static_cast<double>(n * n * n) / (ms[ms.size() / 2] * 1e9);
}

const char* env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

}  // namespace

int main(int argc, char** argv) {
  bool quick = std::strcmp(env_or("KILN_BENCH_QUICK", "0"), "0") != 0, tf32 = false;
  int64_t batch = 0, steps = 0;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--tf32")) tf32 = true;
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoll(argv[++i]);
  }
  if (!kiln::cuda::is_available()) {
    std::printf("skipped: no CUDA device\n");
    return 0;
  }
  if (batch <= 0) batch = quick ? 4 : 8;
  if (steps <= 0) steps = quick ? 5 : 20;
  const kiln::Device device("cuda:0");
  const double ceiling = bf16_ceiling_tflops(quick ? 4096 : 8192, device);
  kiln::cuda::set_allow_tf32(tf32);
  kiln::manual_seed(0);
  const auto config = kiln::nn::GPTConfig::gpt2();
  kiln::nn::GPT model(config);
  model->to(device);
  const int64_t n_params = kiln::nn::parameter_count(*model);
  auto [decay, no_decay] = model->parameters_for_weight_decay();
  using kiln::optim::AdamWOptions;
  std::vector<kiln::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<AdamWOptions>(AdamWOptions(6e-4).betas({0.9, 0.95}).weight_decay(0.1)));
  groups.emplace_back(no_decay, std::make_unique<AdamWOptions>(AdamWOptions(6e-4).betas({0.9, 0.95}).weight_decay(0)));
  kiln::optim::AdamW opt(std::move(groups), AdamWOptions(6e-4));
  const int64_t T = config.block_size(), V = config.vocab_size();
  const kiln::Tensor data = kiln::randint(0, V, {batch, T + 1}).to(device);
  const kiln::Tensor x = data.narrow(1, 0, T).contiguous(), y = data.narrow(1, 1, T).contiguous();
  auto step = [&] {
    kiln::Tensor loss = kiln::cross_entropy(model(x).view({batch * T, V}), y.view({batch * T}));
    opt.zero_grad();
    loss.backward();
    opt.step();
    return loss.item<double>();  // one host read per step, as a trainer does
  };
  for (int i = 0; i < (quick ? 2 : 3); ++i) step();
  kiln::cuda::synchronize();
  const auto t0 = Clock::now();
  double loss = 0;
  for (int64_t i = 0; i < steps; ++i) loss = step();
  const double s = std::chrono::duration<double>(Clock::now() - t0).count();
  const double tokens_per_sec = static_cast<double>(batch * T * steps) / s;
  const double flops_per_token =
      6.0 * static_cast<double>(n_params) + 6.0 * config.n_layer() * config.n_embd() * static_cast<double>(T);
  const double model_tflops = flops_per_token * tokens_per_sec / 1e12;
  std::printf("{\"bench\": \"train_gpt2_step\", \"version\": \"kiln\", \"dtype\": \"%s\", \"batch\": %lld, "
              "\"context\": %lld, \"steps\": %lld, \"parameters\": %lld, \"ms_per_step\": %.2f, "
              "\"tokens_per_sec\": %.0f, \"model_tflops\": %.2f, \"bf16_ceiling_tflops\": %.1f, \"mfu\": %.4f, "
              "\"final_loss\": %.4f, \"quick\": %s, \"device\": \"%s\", \"commit\": \"%s\"}\n",
              tf32 ? "f32 (tf32)" : "f32", static_cast<long long>(batch), static_cast<long long>(T),
              static_cast<long long>(steps), static_cast<long long>(n_params), 1e3 * s / static_cast<double>(steps),
              tokens_per_sec, model_tflops, ceiling, model_tflops / ceiling, loss, quick ? "true" : "false",
              kiln::cuda::get_device_properties(0).name.c_str(), env_or("KILN_GIT_COMMIT", "unknown"));
}
