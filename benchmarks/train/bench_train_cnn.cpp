// samples/s of full training steps (forward, backward, SGD with momentum) of
// the Fashion-MNIST CNN on synthetic batches, on the CPU and, when there is
// one, the GPU. benchmarks/peer/bench_train_libtorch.cpp trains the same
// model on the same batch shape in LibTorch; tools/bench-train.sh runs both
// and reports the ratio.
//   bench_train_cnn [steps] [device]
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fashion_mnist/model.h"
#include "train/cnn_spec.h"

namespace {

void run(const kiln::Device& device, int steps) {
  kiln::manual_seed(0);
  auto model = fashion_mnist::make_cnn(kiln_bench::kChannels1, kiln_bench::kChannels2);
  model->to(device);
  kiln::optim::SGD opt(model->parameters(), kiln::optim::SGDOptions(kiln_bench::kLr).momentum(0.9));
  auto x = kiln::randn({kiln_bench::kBatch, 1, 28, 28}).to(device);
  auto y = kiln::randint(0, 10, {kiln_bench::kBatch}).to(device);
  auto step = [&] {
    opt.zero_grad();
    auto loss = kiln::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    return loss.item<float>();  // synchronises, like LibTorch's item()
  };
  for (int i = 0; i < kiln_bench::kWarmup; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  float loss = 0;
  for (int i = 0; i < steps; ++i) loss = step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  const char* commit = std::getenv("KILN_GIT_COMMIT");
  std::printf("{\"bench\": \"train_cnn\", \"version\": \"kiln\", \"device\": \"%s\", \"batch\": %d, \"steps\": %d, "
              "\"ms_per_step\": %.3f, \"samples_per_sec\": %.1f, \"final_loss\": %.4f, \"commit\": \"%s\"}\n",
              device.str().c_str(), kiln_bench::kBatch, steps, 1e3 * s / steps, kiln_bench::kBatch * steps / s, loss,
              commit ? commit : "unknown");
}

}  // namespace

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : kiln_bench::kSteps;
  const std::string only = argc > 2 ? argv[2] : "";
  if (only.empty() || only == "cpu") run(kiln::Device("cpu"), steps);
  if ((only.empty() && kiln::cuda::is_available()) || only.rfind("cuda", 0) == 0)
    run(kiln::Device(only.empty() ? "cuda:0" : only), steps * 10);
}
