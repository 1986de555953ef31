// Shared by the single-process (tests/dist/) and the MPI (tests/dist/mpi/)
// data-parallel tests: small models without batch norm (per-rank batch
// statistics would differ from the whole batch's, see docs/distributed.md),
// a seeded data set, the one-process reference run on the whole batch, and
// weight comparisons.
#pragma once
#include <kiln/kiln.h>

#include "support/tensor_assert.h"

#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace kiln::testing::dist_util {

constexpr int64_t kIn = 12, kHidden = 16, kClasses = 5;

// Linear-Tanh-Linear-Tanh-Linear: every parameter is used, gradients are smooth.
inline std::shared_ptr<nn::SequentialImpl> make_mlp(uint64_t seed) {
  manual_seed(seed);
  return std::make_shared<nn::SequentialImpl>(nn::Linear(kIn, kHidden), nn::Tanh(), nn::Linear(kHidden, kHidden),
                                              nn::Tanh(), nn::Linear(kHidden, kClasses));
}

// `steps` global batches of `global_batch` examples, the same on every rank.
struct Batches {
  std::vector<Tensor> x, y;
};
inline Batches make_batches(int steps, int64_t global_batch, uint64_t seed = 1234) {
  manual_seed(seed);
  Batches b;
  for (int s = 0; s < steps; ++s) {
    b.x.push_back(randn({global_batch, kIn}));
    b.y.push_back(randint(0, kClasses, {global_batch}));
  }
  return b;
}

// Rows r, r + world, r + 2 world, ...: what data::DistributedSampler gives rank r.
inline Tensor shard_rows(const Tensor& t, int rank, int world) {
  std::vector<int64_t> idx;
  for (int64_t i = rank; i < t.size(0); i += world) idx.push_back(i);
  return t.index_select(0, tensor(idx));
}

inline Tensor loss_of(nn::SequentialImpl& model, const Tensor& x, const Tensor& y) {
  return cross_entropy(model.forward(x), y);
}

using OptimizerFactory = std::function<std::unique_ptr<optim::Optimizer>(std::vector<Tensor>)>;

inline OptimizerFactory sgd_factory() {
  return [](std::vector<Tensor> p) {
    return std::make_unique<optim::SGD>(std::move(p), optim::SGDOptions(0.1).momentum(0.9).weight_decay(1e-3));
  };
}
inline OptimizerFactory adam_factory() {
  return [](std::vector<Tensor> p) { return std::make_unique<optim::Adam>(std::move(p), optim::AdamOptions(1e-2)); };
}

// One process on the whole batch: the result data-parallel training must match.
inline std::shared_ptr<nn::SequentialImpl> train_reference(const Batches& data, uint64_t seed,
                                                           const OptimizerFactory& make_opt, int first = 0,
                                                           int last = -1) {
  auto model = make_mlp(seed);
  auto opt = make_opt(model->parameters());
  if (last < 0) last = static_cast<int>(data.x.size());
  for (int s = first; s < last; ++s) {
    Tensor loss = loss_of(*model, data.x[s], data.y[s]);
    opt->zero_grad();
    loss.backward();
    opt->step();
  }
  return model;
}

// max |a - b| over every parameter and buffer.
inline double max_abs_diff(const nn::Module& a, const nn::Module& b) {
  const StateDict sa = a.state_dict(), sb = b.state_dict();
  double worst = 0;
  for (const auto& [name, t] : sa) {
    const std::vector<double> x = t.to_vector<double>(), y = sb.at(name).to_vector<double>();
    for (size_t i = 0; i < x.size(); ++i) worst = std::max(worst, std::abs(x[i] - y[i]));
  }
  return worst;
}

}  // namespace kiln::testing::dist_util
