// Datasets: indexable collections of examples, each an input tensor and a
// target tensor (a class index, a mask, a next token, ...).
#pragma once
#include <cstdint>
#include <memory>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::data {

struct Example {
  Tensor data;
  Tensor target;  // may be undefined for unlabelled data
};

// Examples stacked along a new first dim: data [B, ...], target [B, ...]
// (target [B] for scalar targets; undefined when the dataset has none).
struct Batch {
  Tensor data;
  Tensor target;
  int64_t epoch = 0;
  int64_t index = 0;  // batch index within the epoch
  int64_t size() const { return data.defined() ? data.size(0) : 0; }
};

// Stacks examples into one batch: one allocation and one memcpy per tensor.
// Throws ShapeError when examples differ in shape or dtype.
Batch collate(const std::vector<Example>& examples);

// Rows `indices` of a tensor stacked into [indices.size(), ...]: one memcpy
// per row for a contiguous CPU tensor, index_select otherwise.
Tensor gather_rows(const Tensor& source, const std::vector<int64_t>& indices);

// get() may be called from several DataLoader worker threads at once, so it
// must not change shared state. Random transforms draw from a generator seeded
// by (seed, epoch, index) instead (see transforms.h), which set_epoch() feeds.
class Dataset {
 public:
  virtual ~Dataset() = default;
  virtual int64_t size() const = 0;
  virtual Example get(int64_t index) const = 0;
  // The batch of these examples. The default collates get(i); datasets held
  // in one tensor override it with gather_rows, which skips the per-example
  // views (a 60000-image epoch then costs a few tens of milliseconds).
  virtual Batch get_batch(const std::vector<int64_t>& indices) const;
  // Called by the DataLoader before each epoch; datasets with per-epoch
  // randomness use it. Never called while get() runs.
  virtual void set_epoch(int64_t /*epoch*/) {}
};

// Wraps tensors whose first dimension indexes examples: example i is
// (data[i], targets[i]). Both stay on their device; get() returns views.
class TensorDataset : public Dataset {
 public:
  TensorDataset(Tensor data, Tensor targets);  // targets may be undefined
  int64_t size() const override;
  Example get(int64_t index) const override;
  Batch get_batch(const std::vector<int64_t>& indices) const override;
  const Tensor& data() const { return data_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor data_;
  Tensor targets_;
};

// Throws IndexError unless 0 <= index < size; `who` names the dataset.
void check_index(const char* who, int64_t index, int64_t size);

}  // namespace kiln::data
