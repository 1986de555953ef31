// What a Tensor handle points to. Internal: users see only kiln::Tensor.
#pragma once
#include <functional>
#include <memory>
#include <utility>
#include <vector>

#include "core/storage.h"
#include "kiln/core/tensor.h"

namespace kiln::autograd {
class Node;
}

namespace kiln::detail {

struct TensorImpl;

struct AutogradMeta {
  bool requires_grad = false;
  std::shared_ptr<TensorImpl> grad;
  std::shared_ptr<autograd::Node> grad_fn;  // null for leaves
  uint32_t output_nr = 0;  // which output of grad_fn this tensor is
  std::weak_ptr<autograd::Node> grad_accumulator;  // leaves: cached AccumulateGrad
  bool retains_grad = false;
  // Leaf hooks; non-leaf hooks live on grad_fn as pre-hooks.
  std::vector<std::pair<size_t, std::function<Tensor(const Tensor&)>>> hooks;
  // Leaves: run after a backward's gradient has been added into grad
  // (see autograd::add_post_accumulate_grad_hook).
  std::vector<std::pair<size_t, std::function<void(const Tensor&)>>> post_accumulate_hooks;
};

struct TensorImpl {
  std::shared_ptr<Storage> storage;
  Shape sizes;
  Shape strides;  // in elements
  int64_t offset = 0;  // in elements
  DType dtype = kFloat32;
  int64_t numel = 0;
  // Made by make_view: shares storage with another tensor. A view recorded
  // by autograd (it requires grad and is not a leaf) refuses in-place writes,
  // which would not reach its base's history.
  bool is_view = false;
  std::unique_ptr<AutogradMeta> autograd;

  Device device() const { return storage->device; }
  void* data() const {
    return static_cast<char*>(storage->data) + offset * static_cast<int64_t>(element_size(dtype));
  }
  AutogradMeta& meta() {
    if (!autograd) autograd = std::make_unique<AutogradMeta>();
    return *autograd;
  }
  bool requires_grad() const { return autograd && autograd->requires_grad; }
};

Shape contiguous_strides(const Shape& sizes);
int64_t shape_numel(const Shape& sizes);
bool is_contiguous_layout(const Shape& sizes, const Shape& strides);

// A new tensor on the same storage with different geometry, no autograd.
Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset);
// Allocates an uninitialised contiguous tensor.
Tensor make_empty(const Shape& sizes, DType dtype, Device device);
// Marks an in-place write to t's storage (see Storage::version).
void bump_version(const Tensor& t);

}  // namespace kiln::detail
