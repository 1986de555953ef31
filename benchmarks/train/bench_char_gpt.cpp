// Training tokens/s of char_gpt's default model (examples/char_gpt/model.h:
// a byte-level GPT, 4 layers, 4 heads, width 128, context 64, batch 16;
// AdamW with weight decay on the matrices) on random bytes: forward,
// cross-entropy, backward, AdamW step, one host read of the loss per step,
// as the trainer does. benchmarks/train/gpt_torch.py trains the same
// model in PyTorch; benchmarks/train/bench-char-gpt.sh runs them together.
//   bench_char_gpt [steps] [device] [layers heads width context batch]
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "char_gpt/model.h"

int main(int argc, char** argv) {
  using D = char_gpt::ModelDefaults;
  const int steps = argc > 1 ? std::atoi(argv[1]) : 50;
  const kiln::Device device(argc > 2 ? argv[2] : "cpu");
  const int64_t layers = argc > 3 ? std::atoll(argv[3]) : D::kLayers, heads = argc > 4 ? std::atoll(argv[4]) : D::kHeads,
                width = argc > 5 ? std::atoll(argv[5]) : D::kWidth, context = argc > 6 ? std::atoll(argv[6]) : D::kContext,
                batch = argc > 7 ? std::atoll(argv[7]) : D::kBatch;
  kiln::manual_seed(0);
  kiln::nn::GPT model(char_gpt::config(layers, heads, width, context));
  model->to(device);
  auto opt = char_gpt::make_adamw(model, D::kLr, D::kWeightDecay);
  const kiln::Tensor data = kiln::randint(0, 256, {batch, context + 1}).to(device);
  const kiln::Tensor x = data.narrow(1, 0, context).contiguous(), y = data.narrow(1, 1, context).contiguous();
  auto step = [&] {
    kiln::Tensor loss = kiln::cross_entropy(model(x).view({batch * context, 256}), y.view({batch * context}));
    opt->zero_grad();
    loss.backward();
    opt->step();
    return loss.item<double>();
  };
  for (int i = 0; i < 5; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  double loss = 0;
  for (int i = 0; i < steps; ++i) loss = step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const char* commit = std::getenv("KILN_GIT_COMMIT");
  std::printf("{\"bench\": \"train_char_gpt\", \"version\": \"kiln\", \"device\": \"%s\", \"threads\": %d, "
              "\"layers\": %lld, \"heads\": %lld, \"width\": %lld, \"context\": %lld, \"batch\": %lld, \"steps\": %d, "
              "\"ms_per_step\": %.3f, \"tokens_per_sec\": %.1f, \"final_loss\": %.4f, \"commit\": \"%s\"}\n",
              device.str().c_str(), kiln::get_num_threads(), static_cast<long long>(layers),
              static_cast<long long>(heads), static_cast<long long>(width), static_cast<long long>(context),
              static_cast<long long>(batch), steps, 1e3 * s / steps, static_cast<double>(batch * context) * steps / s,
              loss, commit ? commit : "unknown");
}
