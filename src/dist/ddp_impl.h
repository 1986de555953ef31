// DistributedDataParallel's state, shared with ZeroRedundancyOptimizer
// (src/dist/zero.cpp). Internal to src/dist.
#pragma once
#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dist/ddp.h"

namespace kiln::dist {

// Every parameter starts on a 32-element boundary of its flat buffer (64 B
// for 16-bit types, 128 B for f32): vector loads and cache lines.
constexpr int64_t kBucketAlign = 32;

struct DistributedDataParallel::Impl {
  struct Param {
    std::string name;
    Tensor tensor;     // the model's parameter, re-seated onto flat_params
    Tensor grad_view;  // its slot in flat_grads: what tensor.grad() is bound to
    size_t bucket = 0;
    int64_t offset = 0;  // in the flat buffers of its dtype
    size_t pre_hook = 0, post_hook = 0;
  };
  struct Bucket {
    DType dtype = kFloat32;
    int group = 0;
    int64_t offset = 0, numel = 0;
    std::vector<size_t> params;
    Tensor grads, values;  // this bucket's slices of flat_grads / flat_params
    int pending = 0;       // gradients still to come in this backward
    Work work;
  };

  std::shared_ptr<nn::Module> module;
  std::shared_ptr<Communicator> comm;
  DDPOptions options;
  Device device = Device(kCPU);
  std::vector<Param> params;  // trained parameters, in registration order
  std::map<DType, Tensor> flat_grads, flat_params;
  std::vector<Bucket> buckets;
  std::vector<BucketInfo> info;

  bool sync_enabled = true;
  // ZeRO-1: buckets are reduce-scattered; each rank then holds the averaged
  // gradient of its shard only.
  bool reduce_scatter = false;

  // The backward in progress (between its first gradient and its end callback).
  bool in_backward = false;
  bool syncing = false;  // ... and it communicates (not under no_sync)
  size_t next_launch = 0;
  std::vector<char> arrived;  // per parameter

  std::vector<Work> last_works;
  std::chrono::steady_clock::time_point backward_start;
  std::vector<double> last_launch_seconds;
  double last_backward_seconds = 0;
  double last_wait_seconds = 0;
  size_t last_bytes = 0;
  int64_t syncs = 0;

  Impl(std::shared_ptr<nn::Module> module, DDPOptions options, std::shared_ptr<Communicator> comm);
  ~Impl();

  // (Re)builds the buckets and flat buffers: parameters and bound gradients
  // are copied into the new layout and re-seated there. group_of[i] is the
  // optimizer group of params[i]; multiple as in plan_buckets.
  void layout(const std::vector<int>& group_of, int64_t multiple);
  void check_agreement() const;
  void broadcast_parameters_and_buffers(bool buffers);
  void broadcast_buffers();

  void on_gradient_arriving();   // a trained parameter's AccumulateGrad is about to run
  void on_gradient_ready(size_t i);  // ... and has run
  void begin_backward();
  void bind_gradients();
  void launch(size_t b);
  void finish_backward();
  void wait_in_flight();

  // This rank's shard of bucket b (ZeRO-1): offset inside the bucket and length.
  int64_t shard_numel(const Bucket& b) const { return b.numel / comm->world_size(); }
  int64_t shard_begin(const Bucket& b) const { return shard_numel(b) * comm->rank(); }
};

}  // namespace kiln::dist
