// A GPT-2 124M training step on one GPU: nn::GPT (12 layers, 12 heads, 768
// wide, 1024 positions, 50257 tokens), cross-entropy, backward, AdamW with
// weight decay on the matrices, on random tokens, batch x 1024 tokens,
// under bf16 autocast (kiln::amp: parameters f32, matmuls and attention in
// bf16, norms and the loss in f32), as PyTorch trains it with torch.autocast.
// Reports tokens/s and the model-FLOPs utilisation
//   MFU = (6 N + 6 L C T) * tokens/s / ceiling
// (N the parameter count, 124,439,808; 6 L C T the attention's matmuls per
// token; ceiling the bf16 matmul rate measured in the same run: kiln::matmul
// of bf16 [8192, 8192] tensors, [4096, 4096] in quick mode, which is one
// cuBLASLt call with f32 accumulation), as PyTorch's and llm.c's figures do.
// benchmarks/train/gpt_torch.py --preset gpt2 --dtype bf16 [--compile] is the PyTorch peer
// (its default dtype is f32).
//
//   bench_gpt2_step [--quick] [--batch B] [--steps N] [--dtype bf16|f32] [--tf32]
//   bench_gpt2_step --device cpu --tiny     (the same code on a small model: a check that it runs)
//
// --tiny: 2 layers, 2 heads, 64 wide, 128 positions, 512 tokens. On the CPU
// the ceiling is an f32 matmul (1024^3; the CPU has no bf16 GEMM,
// docs/mixed_precision.md) and the autocast is the CPU's real bf16
// (AutocastGuard(kCPU, kBFloat16)), slower than f32 there: the CPU run
// shows the code works, not a speed. Without a CUDA device and without
// --device cpu it prints "skipped: no CUDA device" and exits 0.
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

void sync(const kiln::Device& device) {
  if (device.is_cuda()) kiln::cuda::synchronize();
}

// The median of 10 timed n^3 matmuls in `dtype` (after 3 warm-ups), in TFLOP/s.
double ceiling_tflops(int64_t n, kiln::DType dtype, const kiln::Device& device) {
  const kiln::Tensor a = kiln::randn({n, n}).to(device, dtype);
  const kiln::Tensor b = kiln::randn({n, n}).to(device, dtype);
  for (int i = 0; i < 3; ++i) kiln::matmul(a, b);
  sync(device);
  std::vector<double> ms;
  for (int i = 0; i < 10; ++i) {
    const auto t0 = Clock::now();
    kiln::matmul(a, b);
    sync(device);
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
  bool quick = std::strcmp(env_or("KILN_BENCH_QUICK", "0"), "0") != 0, tf32 = false, tiny = false;
  int64_t batch = 0, steps = 0;
  std::string dtype_name = "bf16", device_name;
  for (int i = 1; i < argc; ++i) {
    if (!std::strcmp(argv[i], "--quick")) quick = true;
    else if (!std::strcmp(argv[i], "--tf32")) tf32 = true;
    else if (!std::strcmp(argv[i], "--tiny")) tiny = true;
    else if (!std::strcmp(argv[i], "--batch") && i + 1 < argc) batch = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--steps") && i + 1 < argc) steps = std::atoll(argv[++i]);
    else if (!std::strcmp(argv[i], "--dtype") && i + 1 < argc) dtype_name = argv[++i];
    else if (!std::strcmp(argv[i], "--device") && i + 1 < argc) device_name = argv[++i];
    else {
      std::fprintf(stderr, "bench_gpt2_step: unknown argument %s\n", argv[i]);
      return 2;
    }
  }
  if (dtype_name != "bf16" && dtype_name != "f32") {
    std::fprintf(stderr, "bench_gpt2_step: --dtype must be bf16 or f32, got %s\n", dtype_name.c_str());
    return 2;
  }
  if (device_name.empty()) {
    if (!kiln::cuda::is_available()) {
      std::printf("skipped: no CUDA device\n");
      return 0;
    }
    device_name = "cuda:0";
  }
  try {
    const kiln::Device device(device_name);
    const bool bf16 = dtype_name == "bf16";
    if (batch <= 0) batch = tiny ? 4 : quick ? 4 : 8;
    if (steps <= 0) steps = quick ? 5 : 20;
    const double ceiling = device.is_cuda() ? ceiling_tflops(quick ? 4096 : 8192, kiln::kBFloat16, device)
                                            : ceiling_tflops(1024, kiln::kFloat32, device);
    if (device.is_cuda()) kiln::cuda::set_allow_tf32(tf32);
    kiln::manual_seed(0);
    const auto config = tiny ? kiln::nn::GPTConfig().vocab_size(512).block_size(128).n_layer(2).n_head(2).n_embd(64)
                             : kiln::nn::GPTConfig::gpt2();
    kiln::nn::GPT model(config);
    model->to(device);
    const int64_t n_params = kiln::nn::parameter_count(*model);
    auto [decay, no_decay] = model->parameters_for_weight_decay();
    using kiln::optim::AdamWOptions;
    std::vector<kiln::optim::OptimizerParamGroup> groups;
    groups.emplace_back(decay, std::make_unique<AdamWOptions>(AdamWOptions(6e-4).betas({0.9, 0.95}).weight_decay(0.1)));
    groups.emplace_back(no_decay,
                        std::make_unique<AdamWOptions>(AdamWOptions(6e-4).betas({0.9, 0.95}).weight_decay(0)));
    kiln::optim::AdamW opt(std::move(groups), AdamWOptions(6e-4));
    const int64_t T = config.block_size(), V = config.vocab_size();
    const kiln::Tensor data = kiln::randint(0, V, {batch, T + 1}).to(device);
    const kiln::Tensor x = data.narrow(1, 0, T).contiguous(), y = data.narrow(1, 1, T).contiguous();
    auto step = [&] {
      kiln::Tensor loss;
      {
        kiln::amp::AutocastGuard autocast(device.type(), kiln::kBFloat16, /*enabled=*/bf16);
        loss = kiln::cross_entropy(model(x).view({batch * T, V}), y.view({batch * T}));
        opt.zero_grad();
        loss.backward();
      }
      opt.step();
      return loss.item<double>();  // one host read per step, as a trainer does
    };
    for (int i = 0; i < (quick ? 2 : 3); ++i) step();
    sync(device);
    const auto t0 = Clock::now();
    double loss = 0;
    for (int64_t i = 0; i < steps; ++i) loss = step();
    const double s = std::chrono::duration<double>(Clock::now() - t0).count();
    const double tokens_per_sec = static_cast<double>(batch * T * steps) / s;
    const double flops_per_token =
        6.0 * static_cast<double>(n_params) + 6.0 * config.n_layer() * config.n_embd() * static_cast<double>(T);
    const double model_tflops = flops_per_token * tokens_per_sec / 1e12;
    const std::string dtype_label = bf16 ? "bf16 autocast" : tf32 ? "f32 (tf32)" : "f32";
    const std::string device_label =
        device.is_cuda() ? kiln::cuda::get_device_properties(device.index()).name : std::string("cpu");
    std::printf("{\"bench\": \"train_gpt2_step\", \"version\": \"kiln\", \"model\": \"%s\", \"dtype\": \"%s\", "
                "\"batch\": %lld, \"context\": %lld, \"steps\": %lld, \"parameters\": %lld, \"ms_per_step\": %.2f, "
                "\"tokens_per_sec\": %.0f, \"model_tflops\": %.4f, \"ceiling_tflops\": %.3f, \"ceiling\": \"%s\", "
                "\"mfu\": %.4f, \"final_loss\": %.4f, \"quick\": %s, \"device\": \"%s\", \"commit\": \"%s\"}\n",
                tiny ? "tiny" : "gpt2-124M", dtype_label.c_str(), static_cast<long long>(batch),
                static_cast<long long>(T), static_cast<long long>(steps), static_cast<long long>(n_params),
                1e3 * s / static_cast<double>(steps), tokens_per_sec, model_tflops, ceiling,
                device.is_cuda() ? (quick ? "bf16 matmul 4096^3" : "bf16 matmul 8192^3") : "f32 matmul 1024^3",
                model_tflops / ceiling, loss, quick ? "true" : "false", device_label.c_str(),
                env_or("KILN_GIT_COMMIT", "unknown"));
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "bench_gpt2_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
