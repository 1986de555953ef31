// Steady-state CPU training steps (forward, backward, optimizer) of the
// models in train_models.h, the kiln side of tools/bench-cpu-train.sh, which
// runs the same models in LibTorch 1.13 and PyTorch 2.15 interleaved with
// this and reports the ratios.
//   bench_train_models MODEL [windows] [steps_per_window] [threads]
// After warm-up it times `windows` windows of `steps_per_window` steps and
// prints one JSON line with the median window's ms/step (and min/max).
// MODEL mlp_products times the MLP step's matrix products alone (version
// "products-kiln"): the step's floor at kiln's GEMM rate, which the script
// sets beside the same products in PyTorch (MKL) to find this machine's
// ceiling for a step made mostly of products.
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

// The eight products of one MLP step, in the layouts the step makes them:
// each linear's forward x W^T (NT), its input gradient dY W (NN, not for the
// first layer: the images need none) and its weight gradient dY^T x (TN).
float mlp_products(const kiln_bench::TrainModel& m) {
  static const auto x = kiln::randn({m.batch, 784}), h = kiln::randn({m.batch, m.hidden});
  static const auto g = kiln::randn({m.batch, m.hidden}), g3 = kiln::randn({m.batch, 10});
  static const auto w1 = kiln::randn({m.hidden, 784}), w2 = kiln::randn({m.hidden, m.hidden}),
                    w3 = kiln::randn({10, m.hidden});
  kiln::matmul(x, w1.t());
  kiln::matmul(h, w2.t());
  kiln::matmul(h, w3.t());
  kiln::matmul(g3, w3);
  kiln::matmul(g3.t(), h);
  kiln::matmul(g, w2);
  kiln::matmul(g.t(), h);
  kiln::matmul(g.t(), x);
  return 0.f;  // no loss: nothing trains
}

}  // namespace

int main(int argc, char** argv) {
  const std::string name = argc > 1 ? argv[1] : "";
  const bool products = name == "mlp_products";
  if (!products && !kiln_bench::find_train_model(name)) {
    std::fprintf(stderr,
                 "usage: bench_train_models cnn|cnn_wide|mlp|mlp_products [windows] [steps_per_window] [threads]\n");
    return 2;
  }
  const auto& m = *kiln_bench::find_train_model(products ? "mlp" : name);
  const int windows = argc > 2 ? std::atoi(argv[2]) : 5;
  const int steps = argc > 3 ? std::atoi(argv[3]) : 20;
  if (argc > 4) kiln::set_num_threads(std::atoi(argv[4]));
  kiln::manual_seed(0);
  const char* commit = std::getenv("KILN_GIT_COMMIT");
  if (products) {
    kiln_bench::print_step_windows(m, "products-kiln", kiln::get_num_threads(), windows, steps,
                                   kiln_bench::time_step_windows([&] { return mlp_products(m); }, windows, steps),
                                   commit ? commit : "unknown");
    return 0;
  }
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
  kiln_bench::print_step_windows(m, "kiln", kiln::get_num_threads(), windows, steps,
                                 kiln_bench::time_step_windows(step, windows, steps), commit ? commit : "unknown");
}
