// Steady-state CPU training steps (forward, backward, optimizer) of the
// models in train_models.h, the kiln side of tools/bench-cpu-train.sh, which
// runs the same models in LibTorch 1.13 and PyTorch 2.15 interleaved with
// this and reports the ratios.
//   bench_train_models MODEL [windows] [steps_per_window] [threads]
// After warm-up it times `windows` windows of `steps_per_window` steps and
// prints one JSON line with the median window's ms/step (and min/max).
#include <kiln/kiln.h>

#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "train/train_models.h"

namespace {

kiln::nn::Sequential build(const kiln_bench::TrainModel& m) {
  using namespace kiln::nn;
  Sequential net;
  if (m.channels1 == 0) {  // MLP
    net->push_back(Linear(784, m.hidden));
    net->push_back(ReLU());
    net->push_back(Linear(m.hidden, m.hidden));
    net->push_back(ReLU());
    net->push_back(Linear(m.hidden, 10));
    return net;
  }
  net->push_back(Conv2d(Conv2dOptions(1, m.channels1, 3).padding(1).bias(false)));
  net->push_back(BatchNorm2d(m.channels1));
  net->push_back(ReLU());
  net->push_back(MaxPool2d(2));
  net->push_back(Conv2d(Conv2dOptions(m.channels1, m.channels2, 3).padding(1).bias(false)));
  net->push_back(BatchNorm2d(m.channels2));
  net->push_back(ReLU());
  net->push_back(MaxPool2d(2));
  net->push_back(Flatten());
  if (m.hidden > 0) {
    net->push_back(Linear(m.channels2 * 7 * 7, m.hidden));
    net->push_back(ReLU());
    net->push_back(Linear(m.hidden, 10));
  } else {
    net->push_back(Linear(m.channels2 * 7 * 7, 10));
  }
  return net;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2 || !kiln_bench::find_train_model(argv[1])) {
    std::fprintf(stderr, "usage: bench_train_models cnn|cnn_wide|mlp [windows] [steps_per_window] [threads]\n");
    return 2;
  }
  const auto& m = *kiln_bench::find_train_model(argv[1]);
  const int windows = argc > 2 ? std::atoi(argv[2]) : 5;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 20;
  if (argc > 4) kiln::set_num_threads(std::atoi(argv[4]));
  kiln::manual_seed(0);
  auto model = build(m);
  std::unique_ptr<kiln::optim::Optimizer> opt;
  if (m.adam) opt = std::make_unique<kiln::optim::Adam>(model->parameters(), kiln::optim::AdamOptions(m.lr));
  else
    opt = std::make_unique<kiln::optim::SGD>(model->parameters(), kiln::optim::SGDOptions(m.lr).momentum(0.9));
  auto x = m.channels1 == 0 ? kiln::randn({m.batch, 784}) : kiln::randn({m.batch, 1, 28, 28});
  auto y = kiln::randint(0, 10, {m.batch});
  auto step = [&] {
    opt->zero_grad();
    auto loss = kiln::cross_entropy(model(x), y);
    loss.backward();
    opt->step();
    return loss.item<float>();
  };
  const char* commit = std::getenv("KILN_GIT_COMMIT");
  kiln_bench::print_step_windows(m, "kiln", kiln::get_num_threads(), windows, steps,
                                 kiln_bench::time_step_windows(step, windows, steps), commit ? commit : "unknown");
}
