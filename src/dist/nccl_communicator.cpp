// The NCCL communicator: CUDA tensors of one device. Collectives run on the
// communicator's own stream; each waits (on the GPU) for an event recorded
// on the caller's current stream, so it sees everything queued before it,
// and Work::wait() makes the caller's current stream wait for its end
// event. Nothing here synchronises the device or blocks the host, so
// backward kernels and bucket all-reduces run side by side.
//
// Status: compiled, not yet run on a GPU (see docs/distributed.md).
#include <cuda_runtime.h>

#include "cuda/context.h"
#include "dist/nccl_check.h"
#include "dist/nccl_unique_id.h"
#include "dist/work.h"
#include "kiln/cuda.h"
#include "kiln/dist/communicator.h"
#include "kiln/ops/factory.h"

namespace kiln::dist {

namespace {

ncclDataType_t nccl_type(DType t) {
  switch (t) {
    case DType::Bool:
    case DType::UInt8: return ncclUint8;
    case DType::Int32: return ncclInt32;
    case DType::Int64: return ncclInt64;
    case DType::Float16: return ncclFloat16;
    case DType::BFloat16: return ncclBfloat16;
    case DType::Float32: return ncclFloat32;
    case DType::Float64: return ncclFloat64;
    default: break;  // the storage-only dtypes (kiln/core/dtype.h)
  }
  throw_storage_only(t);
}

ncclRedOp_t nccl_op(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return ncclSum;
    case ReduceOp::Avg: return ncclAvg;
    case ReduceOp::Max: return ncclMax;
    case ReduceOp::Min: return ncclMin;
  }
  return ncclSum;
}

class NcclWork : public Work::Impl {
 public:
  NcclWork(int device, std::vector<Tensor> tensors)
      : device_(device), start_(/*enable_timing=*/true), end_(/*enable_timing=*/true), tensors_(std::move(tensors)) {}
  cuda::Event& start() { return start_; }
  cuda::Event& end() { return end_; }

  void wait() override { cuda::Stream::current(device_).wait(end_); }
  bool is_completed() override { return end_.query(); }
  double seconds() override { return end_.query() ? start_.elapsed_time(end_) / 1000.0 : 0.0; }

 private:
  int device_;
  cuda::Event start_, end_;
  std::vector<Tensor> tensors_;  // alive at least as long as the handle
};

class NcclCommunicator : public Communicator {
 public:
  NcclCommunicator(int device, const std::shared_ptr<Communicator>& bootstrap)
      : device_(cuda::resolve_device(device, "make_nccl_communicator")),
        rank_(bootstrap ? bootstrap->rank() : 0),
        world_(bootstrap ? bootstrap->world_size() : 1),
        local_rank_(bootstrap ? bootstrap->local_rank() : 0) {
    const std::vector<uint8_t> id_bytes = detail::nccl_unique_id(bootstrap.get());
    ncclUniqueId id;
    std::memcpy(&id, id_bytes.data(), sizeof(id));
    cuda::DeviceGuard guard(device_);
    stream_ = cuda::Stream::create(device_);
    KILN_NCCL_CHECK(ncclCommInitRank(&comm_, world_, id, rank_));
  }
  ~NcclCommunicator() override {
    if (!comm_) return;
    // Destructors never throw: errors while tearing down are ignored.
    cudaSetDevice(device_);
    cudaStreamSynchronize(static_cast<cudaStream_t>(stream_.native_handle()));
    ncclCommDestroy(comm_);
  }

  int rank() const override { return rank_; }
  int world_size() const override { return world_; }
  int local_rank() const override { return local_rank_; }
  std::string backend() const override { return "nccl"; }
  bool supports(const Device& d) const override { return d.is_cuda() && d.index() == device_; }

 protected:
  Work do_all_reduce(const Tensor& t, ReduceOp op) override {
    return enqueue({t}, [&](cudaStream_t s) {
      void* p = t.raw_data_ptr();
      KILN_NCCL_CHECK(ncclAllReduce(p, p, static_cast<size_t>(t.numel()), nccl_type(t.dtype()), nccl_op(op), comm_, s));
    });
  }
  Work do_broadcast(const Tensor& t, int root) override {
    return enqueue({t}, [&](cudaStream_t s) {
      void* p = t.raw_data_ptr();
      KILN_NCCL_CHECK(ncclBroadcast(p, p, static_cast<size_t>(t.numel()), nccl_type(t.dtype()), root, comm_, s));
    });
  }
  Work do_all_gather(const Tensor& output, const Tensor& input) override {
    // In place when input is this rank's slice of output, which NCCL allows.
    return enqueue({output, input}, [&](cudaStream_t s) {
      KILN_NCCL_CHECK(ncclAllGather(input.raw_data_ptr(), output.raw_data_ptr(), static_cast<size_t>(input.numel()),
                                    nccl_type(input.dtype()), comm_, s));
    });
  }
  Work do_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op) override {
    return enqueue({output, input}, [&](cudaStream_t s) {
      KILN_NCCL_CHECK(ncclReduceScatter(input.raw_data_ptr(), output.raw_data_ptr(),
                                        static_cast<size_t>(output.numel()), nccl_type(input.dtype()), nccl_op(op),
                                        comm_, s));
    });
  }
  Work do_barrier() override {
    // NCCL has no barrier: a one-element all-reduce orders every rank's stream.
    if (!barrier_buf_.defined()) barrier_buf_ = zeros({1}, TensorOptions().dtype(kFloat32).device(Device(kCUDA, device_)));
    return do_all_reduce(barrier_buf_, ReduceOp::Sum);
  }

 private:
  template <class Call>
  Work enqueue(std::vector<Tensor> tensors, Call&& call) {
    cuda::DeviceGuard guard(device_);
    const cuda::Stream compute = cuda::Stream::current(device_);
    cuda::Event ready;
    ready.record(compute);
    stream_.wait(ready);
    for (const Tensor& t : tensors) cuda::record_stream(t, stream_);
    auto work = std::make_shared<NcclWork>(device_, std::move(tensors));
    work->start().record(stream_);
    call(static_cast<cudaStream_t>(stream_.native_handle()));
    work->end().record(stream_);
    return Work(work);
  }

  int device_;
  int rank_, world_, local_rank_;
  cuda::Stream stream_{nullptr};
  ncclComm_t comm_ = nullptr;
  Tensor barrier_buf_;
};

}  // namespace

std::shared_ptr<Communicator> make_nccl_communicator(int device, const std::shared_ptr<Communicator>& bootstrap) {
  return std::make_shared<NcclCommunicator>(device, bootstrap);
}

}  // namespace kiln::dist
