// A program of your own that uses an installed kiln: a small MLP learns to
// tell the two arms of a spiral apart. It shows the parts of a training
// program: a model (nn::Module), a dataset and a DataLoader, a loss, an
// optimizer, and evaluation without gradients.
//
//   cmake -S . -B build -DCMAKE_PREFIX_PATH=/opt/kiln && cmake --build build && build/spiral
//
// It prints one line per 10 epochs and then "accuracy <fraction>" (about
// 0.99; tests/install requires at least 0.95).
#include <kiln/kiln.h>

#include <cmath>
#include <iostream>
#include <memory>
#include <vector>

constexpr double kPi = 3.14159265358979323846;

// Two interleaved spiral arms of n points each: x [2n, 2] f32, label [2n] i64.
std::shared_ptr<kiln::data::TensorDataset> make_spirals(int64_t n) {
  const kiln::Tensor noise = 0.05f * kiln::randn({2 * n, 2});
  std::vector<float> xy;
  std::vector<int64_t> label;
  for (int64_t arm = 0; arm < 2; ++arm) {
    for (int64_t i = 0; i < n; ++i) {
      const double r = 0.1 + 0.9 * double(i) / double(n);       // radius grows along the arm
      const double a = 3.0 * kPi * double(i) / double(n) + kPi * double(arm);
      xy.push_back(float(r * std::cos(a)));
      xy.push_back(float(r * std::sin(a)));
      label.push_back(arm);
    }
  }
  return std::make_shared<kiln::data::TensorDataset>(kiln::tensor(xy, {2 * n, 2}) + noise,
                                                     kiln::tensor(label, {2 * n}));
}

// A user model: registers its layers, defines forward.
struct Net : kiln::nn::Module {
  kiln::nn::Linear fc1{2, 64}, fc2{64, 64}, out{64, 2};
  Net() : Module("Net") {
    register_module("fc1", fc1);
    register_module("fc2", fc2);
    register_module("out", out);
  }
  kiln::Tensor forward(const kiln::Tensor& x) { return out(kiln::relu(fc2(kiln::relu(fc1(x))))); }
};

int main() {
  kiln::manual_seed(0);
  const kiln::Device device = kiln::cuda::is_available() ? kiln::Device("cuda:0") : kiln::Device("cpu");

  auto train_set = make_spirals(500);
  kiln::data::DataLoader loader(train_set,
                                kiln::data::DataLoaderOptions().batch_size(50).shuffle(true).seed(0).device(device));
  auto net = std::make_shared<Net>();
  net->to(device);
  kiln::optim::Adam opt(net->parameters(), kiln::optim::AdamOptions(0.01));

  for (int epoch = 1; epoch <= 60; ++epoch) {
    double total = 0;
    int64_t seen = 0;
    for (auto& batch : loader) {
      kiln::Tensor loss = kiln::cross_entropy(net->forward(batch.data), batch.target);
      opt.zero_grad();
      loss.backward();
      opt.step();
      total += loss.item<double>() * double(batch.size());
      seen += batch.size();
    }
    if (epoch % 10 == 0) std::cout << "epoch " << epoch << "  loss " << total / double(seen) << "\n";
  }

  kiln::NoGradGuard no_grad;
  net->eval();
  const kiln::Tensor x = train_set->data().to(device), y = train_set->targets().to(device);
  const kiln::Tensor correct = kiln::eq(net->forward(x).argmax(1), y).to(kiln::kFloat32);
  std::cout << "accuracy " << correct.mean().item<float>() << " on " << device << "\n";
}
