// The Fashion-MNIST CNN of examples/fashion_mnist, trained in LibTorch 1.13
// on the same synthetic batches as benchmarks/train/bench_train_cnn.cpp:
// samples/s of full training steps (forward, backward, SGD with momentum).
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>

#include "train/cnn_spec.h"

struct Net : torch::nn::Module {
  Net(int c1, int c2)
      : conv1(torch::nn::Conv2dOptions(1, c1, 3).padding(1).bias(false)),
        bn1(c1),
        conv2(torch::nn::Conv2dOptions(c1, c2, 3).padding(1).bias(false)),
        bn2(c2),
        fc(c2 * 7 * 7, 10) {
    register_module("conv1", conv1);
    register_module("bn1", bn1);
    register_module("conv2", conv2);
    register_module("bn2", bn2);
    register_module("fc", fc);
  }
  torch::Tensor forward(torch::Tensor x) {
    x = torch::max_pool2d(torch::relu(bn1(conv1(x))), 2);
    x = torch::max_pool2d(torch::relu(bn2(conv2(x))), 2);
    return fc(x.flatten(1));
  }
  torch::nn::Conv2d conv1;
  torch::nn::BatchNorm2d bn1;
  torch::nn::Conv2d conv2;
  torch::nn::BatchNorm2d bn2;
  torch::nn::Linear fc;
};

int main(int argc, char** argv) {
  const int steps = argc > 1 ? std::atoi(argv[1]) : kiln_bench::kSteps;
  // LibTorch defaults to one thread per physical core (1 on these VMs); a
  // second argument sets the intra-op thread count explicitly.
  if (argc > 2) torch::set_num_threads(std::atoi(argv[2]));
  torch::manual_seed(0);
  Net net(kiln_bench::kChannels1, kiln_bench::kChannels2);
  torch::optim::SGD opt(net.parameters(), torch::optim::SGDOptions(kiln_bench::kLr).momentum(0.9));
  auto x = torch::randn({kiln_bench::kBatch, 1, 28, 28});
  auto y = torch::randint(0, 10, {kiln_bench::kBatch}, torch::kLong);
  auto step = [&] {
    opt.zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net.forward(x), y);
    loss.backward();
    opt.step();
    return loss.item<float>();
  };
  for (int i = 0; i < kiln_bench::kWarmup; ++i) step();
  const auto t0 = std::chrono::steady_clock::now();
  float loss = 0;
  for (int i = 0; i < steps; ++i) loss = step();
  const double s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"bench\": \"train_cnn\", \"version\": \"libtorch-%s\", \"device\": \"cpu\", \"threads\": %d, "
              "\"batch\": %d, \"steps\": %d, \"ms_per_step\": %.3f, \"samples_per_sec\": %.1f, \"final_loss\": %.4f}\n",
              TORCH_VERSION, torch::get_num_threads(), kiln_bench::kBatch, steps, 1e3 * s / steps,
              kiln_bench::kBatch * steps / s, loss);
}
