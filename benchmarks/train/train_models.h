// The models of the CPU training comparison (issue 13), built the same way
// by kiln (bench_train_models.cpp), LibTorch 1.13
// (benchmarks/peer/bench_train_models_libtorch.cpp) and PyTorch 2.15
// (train_models_torch.py): the same layers, batch, loss and optimizer.
//   cnn       the Fashion-MNIST example's CNN, conv 1->16, 16->32 (BN, ReLU,
//             maxpool 2 each), linear 1568->10; batch 64, Adam lr 1e-3
//   cnn_wide  conv 1->32, 32->64, then linear 3136->128, ReLU, linear 128->10;
//             batch 64, Adam lr 1e-3
//   mlp       784-1024-1024-10 with ReLUs; batch 128, SGD lr 0.01 momentum 0.9
// Inputs are one synthetic batch (randn images, random labels) reused every
// step: the step, not the data loader, is what is timed.
#pragma once
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

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

// Milliseconds per step of `windows` windows of `steps` steps each, after 10
// warm-up steps; sorted, so the median is in the middle. `step` returns the
// loss, which the caller prints to show the run trained.
struct StepWindows {
  std::vector<double> ms;
  float last_loss = 0;
  double median() const { return ms[ms.size() / 2]; }
};

inline StepWindows time_step_windows(const std::function<float()>& step, int windows, int steps) {
  for (int i = 0; i < 10; ++i) step();
  StepWindows out;
  for (int w = 0; w < windows; ++w) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < steps; ++i) out.last_loss = step();
    out.ms.push_back(1e3 * std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / steps);
  }
  std::sort(out.ms.begin(), out.ms.end());
  return out;
}

// One JSON line per run, read by tools/bench-cpu-train.sh; `commit` may be
// null (the LibTorch peer is not built from kiln's tree).
inline void print_step_windows(const TrainModel& m, const std::string& version, int threads, int windows, int steps,
                               const StepWindows& t, const char* commit) {
  std::printf("{\"bench\": \"train_%s\", \"version\": \"%s\", \"threads\": %d, \"batch\": %d, \"windows\": %d, "
              "\"steps_per_window\": %d, \"ms_per_step\": %.3f, \"ms_min\": %.3f, \"ms_max\": %.3f, "
              "\"samples_per_sec\": %.1f, \"final_loss\": %.4f",
              m.name, version.c_str(), threads, m.batch, windows, steps, t.median(), t.ms.front(), t.ms.back(),
              1e3 * m.batch / t.median(), t.last_loss);
  if (commit) std::printf(", \"commit\": \"%s\"", commit);
  std::printf("}\n");
}

}  // namespace kiln_bench
