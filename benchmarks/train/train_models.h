// The models of the CPU training comparison (issue 13), built the same way
// by kiln (bench_train_models.cpp), LibTorch 1.13
// (benchmarks/peer/bench_train_libtorch.cpp) and PyTorch 2.15
// (train_models_torch.py): the same layers, batch, loss and optimizer.
//   cnn       the Fashion-MNIST example's CNN, conv 1->16, 16->32 (BN, ReLU,
//             maxpool 2 each), linear 1568->10; batch 64, Adam lr 1e-3
//   cnn_wide  conv 1->32, 32->64, then linear 3136->128, ReLU, linear 128->10;
//             batch 64, Adam lr 1e-3
//   mlp       784-1024-1024-10 with ReLUs; batch 128, SGD lr 0.01 momentum 0.9
// Inputs are one synthetic batch (randn images, random labels) reused every
// step: the step, not the data loader, is what is timed.
#pragma once
#include <string>

namespace kiln_bench {

struct TrainModel {
  const char* name;
  int channels1, channels2;  // 0 for the MLP
  int hidden;                // CNN: 0 = linear straight to 10 classes; MLP: width
  int batch;
  bool adam;  // else SGD with momentum 0.9
  double lr;
};

constexpr TrainModel kTrainModels[] = {
    {"cnn", 16, 32, 0, 64, true, 1e-3},
    {"cnn_wide", 32, 64, 128, 64, true, 1e-3},
    {"mlp", 0, 0, 1024, 128, false, 1e-2},
};

inline const TrainModel* find_train_model(const std::string& name) {
  for (const auto& m : kTrainModels)
    if (name == m.name) return &m;
  return nullptr;
}

}  // namespace kiln_bench
