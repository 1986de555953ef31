// End to end: a small CNN (conv-BN-ReLU-pool x2, linear) must overfit 512
// Fashion-MNIST images, exercising every layer's forward and backward.
#include <gtest/gtest.h>

#include <kiln/kiln.h>
#include <kiln/data/mnist.h>
#include <kiln/nn.h>

#include <chrono>
#include <filesystem>

#include "support/test_data.h"

using namespace kiln;

namespace {

struct SmallCnn : nn::Module {
  nn::Sequential features{nn::Conv2d(nn::Conv2dOptions(1, 8, 3).padding(1)), nn::BatchNorm2d(8), nn::ReLU(),
                          nn::MaxPool2d(2), nn::Conv2d(nn::Conv2dOptions(8, 16, 3).padding(1)), nn::BatchNorm2d(16),
                          nn::ReLU(), nn::MaxPool2d(2), nn::Flatten()};
  nn::Linear classifier{16 * 7 * 7, 10};
  SmallCnn() : Module("SmallCnn") {
    register_module("features", features);
    register_module("classifier", classifier);
  }
  Tensor forward(const Tensor& x) { return classifier(features(x)); }
};

}  // namespace

TEST(TrainingSanity, SmallCnnOverfits512FashionMnistImages) {
  const std::string root = kiln::testing::fashion_mnist_root();
  if (!std::filesystem::exists(root)) GTEST_SKIP() << "Fashion-MNIST not installed at " << root;
  data::FashionMNIST ds(root, data::Split::Train);
  const int64_t n = 512, batch = 64;
  Tensor images = ds.images().narrow(0, 0, n).contiguous(), labels = ds.targets().narrow(0, 0, n).contiguous();

  manual_seed(0);
  SmallCnn net;
  const auto params = net.parameters();
  std::vector<Tensor> velocity;
  for (const auto& p : params) velocity.push_back(zeros_like(p));
  const double lr = 0.05, momentum = 0.9;

  const auto start = std::chrono::steady_clock::now();
  for (int epoch = 0; epoch < 10; ++epoch) {
    Tensor order = randperm(n);
    for (int64_t b = 0; b < n; b += batch) {
      Tensor idx = order.narrow(0, b, batch);
      Tensor loss = cross_entropy(net.forward(images.index_select(0, idx)), labels.index_select(0, idx));
      net.zero_grad();
      loss.backward();
      NoGradGuard no_grad;  // plain SGD with momentum
      for (size_t i = 0; i < params.size(); ++i) {
        velocity[i].mul_(momentum).add_(params[i].grad());
        Tensor p = params[i];
        p.sub_(velocity[i], lr);
      }
    }
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  net.eval();
  NoGradGuard no_grad;
  Tensor predicted = net.forward(images).argmax(1);
  const double accuracy = (predicted == labels).to(kFloat64).mean().item<double>();
  EXPECT_GT(accuracy, 0.95) << "after 10 epochs (" << seconds << " s)";
  RecordProperty("train_seconds", std::to_string(seconds));
}
