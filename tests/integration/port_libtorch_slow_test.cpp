// The port test (issue 11): a Fashion-MNIST CNN trainer written the way a
// LibTorch user writes one, with `torch::` renamed `kiln::` and nothing
// else changed, except the lines marked below:
//   - data loading: LibTorch's torch::data::datasets::MNIST(root, Mode::kTrain)
//     is kiln::data::FashionMNIST(root, kiln::data::Split::Train) (same
//     images() and targets() tensors);
// It trains for one epoch (Adam 1e-3, batch 128) and must reach the test
// accuracy kiln's own example reaches over one epoch (see the assertion);
// about 20 s on two idle cores, more on a loaded machine (label `slow`).
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cstdio>
#include <filesystem>

namespace {

// ---- from here, LibTorch code with the namespace renamed -------------------------
struct Net : kiln::nn::Module {
  Net()
      : features(kiln::nn::Conv2d(kiln::nn::Conv2dOptions(1, 16, 3).padding(1).bias(false)),
                 kiln::nn::BatchNorm2d(16), kiln::nn::ReLU(), kiln::nn::MaxPool2d(kiln::nn::MaxPool2dOptions(2)),
                 kiln::nn::Conv2d(kiln::nn::Conv2dOptions(16, 32, 3).padding(1).bias(false)),
                 kiln::nn::BatchNorm2d(kiln::nn::BatchNorm2dOptions(32)), kiln::nn::ReLU(),
                 kiln::nn::MaxPool2d(kiln::nn::MaxPool2dOptions(2))),
        fc(kiln::nn::LinearOptions(32 * 7 * 7, 10)) {
    register_module("features", features);
    register_module("fc", fc);
  }
  kiln::Tensor forward(kiln::Tensor x) {
    x = features->forward(x);
    return fc->forward(x.flatten(1));
  }
  kiln::nn::Sequential features;
  kiln::nn::Linear fc;
};

struct Result {
  double train_loss = 0;
  double test_accuracy = 0;
};

Result train(const std::string& root, int epochs, int64_t batch_size, int threads) {
  kiln::set_num_threads(threads);
  kiln::manual_seed(0);
  kiln::Device device = kiln::cuda::is_available() ? kiln::Device(kiln::kCUDA, 0) : kiln::Device(kiln::kCPU);

  // LibTorch: torch::data::datasets::MNIST train_set(root, torch::data::datasets::MNIST::Mode::kTrain);
  kiln::data::FashionMNIST train_set(root, kiln::data::Split::Train);
  kiln::data::FashionMNIST test_set(root, kiln::data::Split::Test);
  const kiln::Tensor train_images = train_set.images().to(device), train_targets = train_set.targets().to(device);
  const kiln::Tensor test_images = test_set.images().to(device), test_targets = test_set.targets().to(device);

  auto net = std::make_shared<Net>();
  net->to(device);
  kiln::optim::Adam optimizer(net->parameters(), kiln::optim::AdamOptions(1e-3));
  namespace F = kiln::nn::functional;

  Result result;
  const int64_t n = train_images.size(0);
  for (int epoch = 0; epoch < epochs; ++epoch) {
    net->train();
    kiln::Tensor perm = kiln::randperm(n, kiln::TensorOptions(kiln::kLong).device(device));
    double loss_sum = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start + batch_size <= n; start += batch_size) {
      kiln::Tensor idx = perm.slice(0, start, start + batch_size);
      kiln::Tensor data = train_images.index_select(0, idx);
      kiln::Tensor target = train_targets.index_select(0, idx);
      optimizer.zero_grad();
      kiln::Tensor output = net->forward(data);
      kiln::Tensor loss = F::cross_entropy(output, target);
      loss.backward();
      optimizer.step();
      loss_sum += loss.item().toFloat();
      ++batches;
    }
    result.train_loss = loss_sum / static_cast<double>(batches);

    kiln::NoGradGuard no_grad;
    net->eval();
    int64_t correct = 0;
    for (int64_t start = 0; start < test_images.size(0); start += 1000) {
      const int64_t end = std::min<int64_t>(start + 1000, test_images.size(0));
      kiln::Tensor output = net->forward(test_images.slice(0, start, end));
      kiln::Tensor pred = output.argmax(1);
      correct += pred.eq(test_targets.slice(0, start, end)).sum().item<int64_t>();
    }
    result.test_accuracy = static_cast<double>(correct) / static_cast<double>(test_images.size(0));
    std::printf("epoch %d: train loss %.4f, test accuracy %.4f\n", epoch + 1, result.train_loss, result.test_accuracy);
  }
  return result;
}
// ---- end of the LibTorch-style program --------------------------------------------

TEST(PortFromLibTorch, FashionMnistCnnTrainsToTheExamplesAccuracyInOneEpoch) {
  const char* env = std::getenv("KILN_FASHION_MNIST_DIR");
  const std::string root = env != nullptr ? env : kiln::data::FashionMNIST::kDefaultRoot;
  if (!std::filesystem::exists(root + "/train-images-idx3-ubyte.gz") &&
      !std::filesystem::exists(root + "/train-images-idx3-ubyte"))
    GTEST_SKIP() << "no Fashion-MNIST under " << root << " (Debian package dataset-fashion-mnist)";
  const Result r = train(root, /*epochs=*/1, /*batch_size=*/128, /*threads=*/2);
  // kiln's examples/fashion_mnist with the same model, optimizer, batch and
  // one epoch (--optimizer adam --lr 0.001 --epochs 1 --seed 0, CPU) reached
  // 0.8693 test accuracy (its lr has a warmup and cosine schedule); this
  // port reached 0.8722 (train loss 0.412). A correct port lands within a
  // point of the example.
  EXPECT_GT(r.test_accuracy, 0.86);
  EXPECT_LT(r.train_loss, 0.5);
}

}  // namespace
