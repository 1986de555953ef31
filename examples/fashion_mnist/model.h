// The Fashion-MNIST CNN (also timed by benchmarks/train/bench_train_cnn.cpp
// and, in LibTorch, by benchmarks/peer/bench_train_libtorch.cpp):
//   conv3x3(1 -> c1, pad 1, no bias) BN ReLU maxpool2      28x28 -> 14x14
//   conv3x3(c1 -> c2, pad 1, no bias) BN ReLU maxpool2     14x14 -> 7x7
//   flatten, linear(c2*7*7 -> 10)
// With sync_batchnorm the BN layers are dist::SyncBatchNorm2d: statistics
// over every rank's examples, so N ranks on batch B compute what one process
// computes on batch N*B. The state_dict keys are the same either way.
#pragma once
#include <kiln/kiln.h>

namespace fashion_mnist {

inline kiln::nn::Sequential make_cnn(int64_t c1 = 16, int64_t c2 = 32, bool sync_batchnorm = false) {
  using namespace kiln::nn;
  Sequential net;
  auto norm = [&](int64_t c) {
    if (sync_batchnorm) net->push_back(kiln::dist::SyncBatchNorm2d(c));
    else net->push_back(BatchNorm2d(c));
  };
  net->push_back(Conv2d(Conv2dOptions(1, c1, 3).padding(1).bias(false)));
  norm(c1);
  net->push_back(ReLU());
  net->push_back(MaxPool2d(2));
  net->push_back(Conv2d(Conv2dOptions(c1, c2, 3).padding(1).bias(false)));
  norm(c2);
  net->push_back(ReLU());
  net->push_back(MaxPool2d(2));
  net->push_back(Flatten());
  net->push_back(Linear(c2 * 7 * 7, 10));
  return net;
}

}  // namespace fashion_mnist
