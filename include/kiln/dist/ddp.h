// dist::DistributedDataParallel: every rank holds the whole model, trains on
// its own share of each batch, and the gradients are averaged over the ranks
// during backward, so that after loss.backward() every rank holds the same
// gradient the whole batch would have given one process.
//
//   auto model = make_model();  model->to(kiln::dist::device());
//   kiln::dist::DistributedDataParallel ddp(model);      // broadcast + checks
//   optim::SGD opt(model->parameters(), ...);            // unchanged
//   for (auto& b : loader) {                             // loader sharded by rank
//     Tensor loss = cross_entropy(model(b.data), b.target);
//     opt.zero_grad(); loss.backward(); opt.step();      // backward syncs
//   }
//
// How (PyTorch's reducer, in outline):
// - Construction broadcasts rank 0's parameters and buffers and checks that
//   every rank has the same parameter and buffer names, shapes and dtypes; a
//   mismatch throws ValueError on every rank (nothing hangs).
// - Parameters are split into buckets in reverse registration order (the
//   order backward usually produces their gradients): a small first bucket
//   (1 MiB), then up to 25 MiB each. All buckets are slices of one
//   persistent flat gradient buffer per dtype, and each parameter's .grad() is
//   a view into it (PyTorch's gradient_as_bucket_view), so optimizers read the
//   flat buffer directly and nothing is copied in or out. The parameters
//   themselves are views into a flat buffer of the same layout.
// - A hook after each parameter's gradient accumulation counts it; when a
//   bucket's last gradient is in, its all-reduce (average) starts on the
//   communicator (MPI progress thread / NCCL stream) while backward goes on.
//   Buckets are started in index order on every rank, so the collectives
//   match even when gradients arrive in a different order.
// - When backward ends, buckets not yet started are started (a parameter
//   that got no gradient on this rank contributes zeros) and all are waited
//   for, so loss.backward() returns with averaged gradients and the
//   optimizer's step sees them.
//
// Rules: move the model to its device before wrapping it, and do not replace
// its parameters afterwards (checked at every backward). zero_grad() with or
// without set_to_none works. Parameters that get no gradient on any rank get
// a zero gradient (not an undefined one).
#pragma once
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "kiln/dist/communicator.h"
#include "kiln/nn/module.h"

namespace kiln::dist {

class DDPOptions {
 public:
  // Bucket size limits in bytes (a bucket closes once it reaches the limit).
  DDPOptions& bucket_cap_bytes(size_t v) { bucket_cap_bytes_ = v; return *this; }
  DDPOptions& first_bucket_cap_bytes(size_t v) { first_bucket_cap_bytes_ = v; return *this; }
  // Broadcast rank 0's buffers (BatchNorm running statistics) at construction.
  DDPOptions& broadcast_buffers(bool v) { broadcast_buffers_ = v; return *this; }
  size_t bucket_cap_bytes() const { return bucket_cap_bytes_; }
  size_t first_bucket_cap_bytes() const { return first_bucket_cap_bytes_; }
  bool broadcast_buffers() const { return broadcast_buffers_; }

 private:
  size_t bucket_cap_bytes_ = size_t{25} << 20;
  size_t first_bucket_cap_bytes_ = size_t{1} << 20;
  bool broadcast_buffers_ = true;
};

// One bucket of the layout, for inspection and tests.
struct BucketInfo {
  DType dtype = kFloat32;
  int64_t offset = 0;  // first element in the flat buffer of its dtype
  int64_t numel = 0;   // elements, padding included
  int group = 0;       // the optimizer parameter group (ZeRO-1), else 0
  std::vector<std::string> params;  // in bucket order
};

// Where the time of the last synchronising backward went.
struct SyncTiming {
  double comm_seconds = 0;  // sum over buckets of how long each collective ran
  double wait_seconds = 0;  // how long the end of backward blocked on them (0 for NCCL: the GPU waits)
  // From the backward's first parameter gradient to the end of its graph
  // (before the final wait), and when each bucket's collective was started,
  // in bucket order, on the same clock.
  double backward_seconds = 0;
  std::vector<double> launch_seconds;
  int64_t buckets = 0;
  size_t bytes = 0;  // gradient bytes communicated
};

class ZeroRedundancyOptimizer;

class DistributedDataParallel {
 public:
  // `comm` defaults to dist::communicator(), or dist::cpu_communicator() for a
  // CPU model when that is NCCL (dist::init() is called if needed).
  explicit DistributedDataParallel(std::shared_ptr<nn::Module> module, DDPOptions options = {},
                                   std::shared_ptr<Communicator> comm = nullptr);
  template <class M>
  explicit DistributedDataParallel(const nn::ModuleHolder<M>& module, DDPOptions options = {},
                                   std::shared_ptr<Communicator> comm = nullptr)
      : DistributedDataParallel(std::static_pointer_cast<nn::Module>(module.ptr()), std::move(options),
                                std::move(comm)) {}
  ~DistributedDataParallel();  // removes the hooks; waits for collectives in flight
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  nn::Module& module() const;
  Communicator& communicator() const;
  const std::vector<BucketInfo>& buckets() const;

  // While a NoSync is alive, backward accumulates gradients locally without
  // communicating (gradient accumulation); the first backward after it ends
  // averages everything accumulated.
  class NoSync {
   public:
    ~NoSync();
    NoSync(NoSync&& other) noexcept;
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;
    NoSync& operator=(NoSync&&) = delete;

   private:
    friend class DistributedDataParallel;
    explicit NoSync(DistributedDataParallel* owner);
    DistributedDataParallel* owner_;
    bool previous_;
  };
  NoSync no_sync();
  bool sync_enabled() const;

  // Copies rank 0's buffers to every rank (e.g. BatchNorm running statistics
  // before evaluating or saving). Collective: every rank must call it.
  void broadcast_buffers();

  // The timing of the last backward that synchronised. For NCCL comm_seconds
  // counts only collectives that have finished on the GPU.
  SyncTiming last_timing() const;
  // Synchronising backwards completed so far.
  int64_t sync_count() const;

  struct Impl;

 private:
  friend class ZeroRedundancyOptimizer;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::dist
