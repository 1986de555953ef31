// Groups the tensors of one optimizer step into buckets that a single fused
// backend call can update: same device, same dtype, same step-dependent key
// (Adam's step count, SGD's "buffer is new" flag).
#pragma once
#include <array>
#include <map>
#include <tuple>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::optim::internal {

struct FusedBucket {
  Device device;
  DType dtype = kFloat32;
  int64_t key = 0;
  std::vector<Tensor> params, grads;
  std::array<std::vector<Tensor>, 3> states;  // optimizer buffers, in the backend's argument order
};

class FusedBuckets {
 public:
  FusedBucket& at(const Tensor& param, int64_t key) {
    auto id = std::make_tuple(static_cast<int>(param.device().type()), param.device().index(),
                              static_cast<int>(param.dtype()), key);
    auto [it, inserted] = buckets_.try_emplace(id);
    if (inserted) {
      it->second.device = param.device();
      it->second.dtype = param.dtype();
      it->second.key = key;
    }
    return it->second;
  }
  std::vector<FusedBucket*> all() {
    std::vector<FusedBucket*> out;
    for (auto& kv : buckets_) out.push_back(&kv.second);
    return out;
  }

 private:
  std::map<std::tuple<int, int, int, int64_t>, FusedBucket> buckets_;
};

// The gradient of `param` checked for use in an update (same shape, dtype, device).
Tensor checked_grad(const char* optimizer, const Tensor& param, size_t index);
// A zero-filled contiguous buffer like `param`, without autograd.
Tensor zero_state_like(const Tensor& param);
// Marks the in-place writes of a fused update on the updated tensors.
void mark_updated(const FusedBucket& bucket);

}  // namespace kiln::optim::internal
