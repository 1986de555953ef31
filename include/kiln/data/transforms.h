// Per-example transforms for image tensors [C, H, W] (or [H, W]) on the CPU.
// Each call takes the random engine to draw from; TransformedDataset seeds one
// per (seed, epoch, index), so augmentations are reproducible and do not
// depend on how many loader threads run or in which order they finish.
#pragma once
#include <memory>
#include <vector>

#include "kiln/data/dataset.h"
#include "kiln/data/random.h"

namespace kiln::data {

class Transform {
 public:
  virtual ~Transform() = default;
  virtual Tensor operator()(const Tensor& x, RandomEngine& rng) const = 0;
};

// (x - mean[c]) / std[c] per channel (dim 0 of a 3-D input); one value
// applies to every channel. Floating inputs only.
class Normalize : public Transform {
 public:
  Normalize(std::vector<double> mean, std::vector<double> std);
  Tensor operator()(const Tensor& x, RandomEngine& rng) const override;

 private:
  std::vector<double> mean_, std_;
};

// Pads the last two dims with `padding` zeros on every side, then cuts a
// random height x width window.
class RandomCrop : public Transform {
 public:
  explicit RandomCrop(int64_t size, int64_t padding = 0) : RandomCrop(size, size, padding) {}
  RandomCrop(int64_t height, int64_t width, int64_t padding);
  Tensor operator()(const Tensor& x, RandomEngine& rng) const override;

 private:
  int64_t height_, width_, padding_;
};

// Mirrors the last dim with probability p.
class RandomHorizontalFlip : public Transform {
 public:
  explicit RandomHorizontalFlip(double p = 0.5);
  Tensor operator()(const Tensor& x, RandomEngine& rng) const override;

 private:
  double p_;
};

// uint8 in [0, 255] -> float32 in [0, 1]; floating input passes through.
class ToFloat : public Transform {
 public:
  Tensor operator()(const Tensor& x, RandomEngine& rng) const override;
};

// Applies transforms in order.
class Compose : public Transform {
 public:
  explicit Compose(std::vector<std::shared_ptr<Transform>> transforms);
  Tensor operator()(const Tensor& x, RandomEngine& rng) const override;

 private:
  std::vector<std::shared_ptr<Transform>> transforms_;
};

// A dataset whose examples' data pass through a transform; the engine for
// example i in epoch e is sample_engine(seed, e, i).
class TransformedDataset : public Dataset {
 public:
  TransformedDataset(std::shared_ptr<Dataset> base, std::shared_ptr<Transform> transform, uint64_t seed = 0);
  int64_t size() const override { return base_->size(); }
  Example get(int64_t index) const override;
  void set_epoch(int64_t epoch) override;

 private:
  std::shared_ptr<Dataset> base_;
  std::shared_ptr<Transform> transform_;
  uint64_t seed_;
  int64_t epoch_ = 0;
};

}  // namespace kiln::data
