// The benchmark CNN, shared by kiln's and LibTorch's training benchmarks so
// both train exactly the same model on the same batch shape:
//   conv3x3(1->C1, pad 1, no bias) BN ReLU maxpool2
//   conv3x3(C1->C2, pad 1, no bias) BN ReLU maxpool2
//   flatten, linear(C2*7*7 -> 10); cross-entropy; SGD lr, momentum 0.9.
// It is also the default model of examples/fashion_mnist.
#pragma once

namespace kiln_bench {
constexpr int kChannels1 = 16;
constexpr int kChannels2 = 32;
constexpr int kBatch = 128;
constexpr double kLr = 0.05;
constexpr int kWarmup = 5;
constexpr int kSteps = 60;
}  // namespace kiln_bench
