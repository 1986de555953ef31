// char_gpt's model and optimizer: a byte-level GPT (vocabulary 256) and
// AdamW with weight decay on the matrices only. The defaults here are the
// trainer's and the benchmark's (benchmarks/train/bench_char_gpt.cpp).
#pragma once
#include <kiln/kiln.h>

#include <memory>
#include <vector>

namespace char_gpt {

struct ModelDefaults {
  static constexpr int64_t kLayers = 4, kHeads = 4, kWidth = 128, kContext = 64, kBatch = 16;
  static constexpr double kLr = 3e-3, kWeightDecay = 0.1;
};

inline kiln::nn::GPTConfig config(int64_t layers, int64_t heads, int64_t width, int64_t context, double dropout = 0.0) {
  return kiln::nn::GPTConfig().vocab_size(256).block_size(context).n_layer(layers).n_head(heads).n_embd(width)
      .dropout(dropout);
}

// Two parameter groups: matrices with weight decay, vectors without.
inline std::unique_ptr<kiln::optim::AdamW> make_adamw(const kiln::nn::GPT& model, double lr, double weight_decay) {
  using kiln::optim::AdamWOptions;
  auto [decay, no_decay] = model->parameters_for_weight_decay();
  std::vector<kiln::optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<AdamWOptions>(AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(weight_decay)));
  groups.emplace_back(no_decay, std::make_unique<AdamWOptions>(AdamWOptions(lr).betas({0.9, 0.95}).weight_decay(0.0)));
  return std::make_unique<kiln::optim::AdamW>(std::move(groups), AdamWOptions(lr));
}

}  // namespace char_gpt
