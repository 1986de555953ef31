// The models of benchmarks/train/train_models.h trained in LibTorch 1.13,
// timed exactly as benchmarks/train/bench_train_models.cpp times kiln.
//   bench_train_models_libtorch MODEL [windows] [steps_per_window] [threads]
#include <torch/torch.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "train/train_models.h"

namespace {

torch::nn::Sequential build(const kiln_bench::TrainModel& m) {
  namespace nn = torch::nn;
  nn::Sequential net;
  if (m.channels1 == 0) {
    net->push_back(nn::Linear(784, m.hidden));
    net->push_back(nn::ReLU());
    net->push_back(nn::Linear(m.hidden, m.hidden));
    net->push_back(nn::ReLU());
    net->push_back(nn::Linear(m.hidden, 10));
    return net;
  }
  net->push_back(nn::Conv2d(nn::Conv2dOptions(1, m.channels1, 3).padding(1).bias(false)));
  net->push_back(nn::BatchNorm2d(m.channels1));
  net->push_back(nn::ReLU());
  net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  net->push_back(nn::Conv2d(nn::Conv2dOptions(m.channels1, m.channels2, 3).padding(1).bias(false)));
  net->push_back(nn::BatchNorm2d(m.channels2));
  net->push_back(nn::ReLU());
  net->push_back(nn::MaxPool2d(nn::MaxPool2dOptions(2)));
  net->push_back(nn::Flatten());
  if (m.hidden > 0) {
    net->push_back(nn::Linear(m.channels2 * 7 * 7, m.hidden));
    net->push_back(nn::ReLU());
    net->push_back(nn::Linear(m.hidden, 10));
  } else {
    net->push_back(nn::Linear(m.channels2 * 7 * 7, 10));
  }
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !kiln_bench::find_train_model(argv[1])) {
    std::fprintf(stderr, "usage: bench_train_models_libtorch cnn|cnn_wide|mlp [windows] [steps_per_window] [threads]\n");
    return 2;
  }
  const auto& m = *kiln_bench::find_train_model(argv[1]);
  const int windows = argc > 2 ? std::atoi(argv[2]) : 5;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 20;
  // LibTorch defaults to one thread per physical core; the script passes
  // the thread count kiln uses.
  if (argc > 4) torch::set_num_threads(std::atoi(argv[4]));
  torch::manual_seed(0);
  auto net = build(m);
  std::unique_ptr<torch::optim::Optimizer> opt;
  if (m.adam) opt = std::make_unique<torch::optim::Adam>(net->parameters(), torch::optim::AdamOptions(m.lr));
  else
    opt = std::make_unique<torch::optim::SGD>(net->parameters(), torch::optim::SGDOptions(m.lr).momentum(0.9));
  auto x = m.channels1 == 0 ? torch::randn({m.batch, 784}) : torch::randn({m.batch, 1, 28, 28});
  auto y = torch::randint(0, 10, {m.batch}, torch::kLong);
  auto step = [&] {
    opt->zero_grad();
    auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
    loss.backward();
    opt->step();
    return loss.item<float>();
  };
  kiln_bench::print_step_windows(m, std::string("libtorch-") + TORCH_VERSION, torch::get_num_threads(), windows, steps,
                                 kiln_bench::time_step_windows(step, windows, steps), nullptr);
}
