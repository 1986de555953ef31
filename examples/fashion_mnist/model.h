// The Fashion-MNIST CNN (also timed by benchmarks/train/bench_train_cnn.cpp
// and, in LibTorch, by benchmarks/peer/bench_train_libtorch.cpp):
//   conv3x3(1 -> c1, pad 1, no bias) BN ReLU maxpool2      28x28 -> 14x14
//   conv3x3(c1 -> c2, pad 1, no bias) BN ReLU maxpool2     14x14 -> 7x7
//   flatten, linear(c2*7*7 -> 10)
#pragma once
#include <kiln/kiln.h>

namespace fashion_mnist {

inline kiln::nn::Sequential make_cnn(int64_t c1 = 16, int64_t c2 = 32) {
  using namespace kiln::nn;
  return Sequential(Conv2d(Conv2dOptions(1, c1, 3).padding(1).bias(false)), BatchNorm2d(c1), ReLU(), MaxPool2d(2),
                    Conv2d(Conv2dOptions(c1, c2, 3).padding(1).bias(false)), BatchNorm2d(c2), ReLU(), MaxPool2d(2),
                    Flatten(), Linear(c2 * 7 * 7, 10));
}

}  // namespace fashion_mnist
