// dist::Communicator: collectives among the ranks (processes) of a
// data-parallel job. One interface, three implementations:
//   "mpi"    CPU tensors, over MPI_COMM_WORLD (Open MPI), on a progress thread
//   "nccl"   CUDA tensors of one device, over NCCL, on the communicator's own
//            stream, ordered against the caller's current stream with events
//   "local"  a world of one process (no launcher): every collective is the
//            identity, for any device
// Every collective works in place on contiguous tensors and has an
// asynchronous form returning a Work handle. All ranks must call the same
// collectives in the same order, with the same element counts and dtypes.
#pragma once
#include <memory>
#include <string>

#include "kiln/core/device.h"
#include "kiln/core/error.h"
#include "kiln/core/tensor.h"

namespace kiln::dist {

// MPI or NCCL reported an error, or the ranks disagree (a collective that
// cannot be matched). Argument errors are the usual ShapeError/DTypeError/...
class DistError : public Error {
 public:
  using Error::Error;
};

// Avg divides the sum by the world size; it is defined for floating dtypes only.
enum class ReduceOp { Sum, Avg, Max, Min };
const char* reduce_op_name(ReduceOp op);

// The handle of an asynchronous collective. A default-constructed Work is
// already complete. Copies share the collective.
class Work {
 public:
  struct Impl;
  Work() = default;
  explicit Work(std::shared_ptr<Impl> impl) : impl_(std::move(impl)) {}

  // After wait(), the result is visible to what the caller does next: on the
  // CPU the host blocks until the collective has finished; for NCCL the
  // caller's current stream waits for it on the GPU (the host does not
  // block). Rethrows the collective's error. Waiting twice is allowed.
  void wait() const;
  // True when the collective has finished (never blocks).
  bool is_completed() const;
  // How long the collective itself ran, in seconds, once completed; 0 before.
  double seconds() const;

 private:
  std::shared_ptr<Impl> impl_;
};

class Communicator {
 public:
  virtual ~Communicator() = default;
  Communicator(const Communicator&) = delete;
  Communicator& operator=(const Communicator&) = delete;

  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // This process's index among the ranks on its machine (picks its GPU).
  virtual int local_rank() const = 0;
  virtual std::string backend() const = 0;  // "mpi", "nccl", "local"
  // Whether tensors on `device` can take part in this communicator's collectives.
  virtual bool supports(const Device& device) const = 0;

  // --- asynchronous forms ----------------------------------------------------
  // tensor = op over ranks of tensor.
  Work all_reduce_async(const Tensor& tensor, ReduceOp op = ReduceOp::Sum);
  // tensor = root's tensor.
  Work broadcast_async(const Tensor& tensor, int root = 0);
  // output (world_size * n elements) = every rank's input (n elements), rank r
  // at [r * n, (r + 1) * n). input may be exactly that slice of output.
  Work all_gather_async(const Tensor& output, const Tensor& input);
  // output (n elements) = op over ranks of input[r * n, (r + 1) * n) on rank
  // r, input having world_size * n elements. output may be exactly that slice
  // of input; the rest of input is then left undefined.
  Work reduce_scatter_async(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::Sum);
  Work barrier_async();

  // --- blocking forms (the asynchronous form, waited) --------------------------
  void all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::Sum) { all_reduce_async(tensor, op).wait(); }
  void broadcast(const Tensor& tensor, int root = 0) { broadcast_async(tensor, root).wait(); }
  void all_gather(const Tensor& output, const Tensor& input) { all_gather_async(output, input).wait(); }
  void reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op = ReduceOp::Sum) {
    reduce_scatter_async(output, input, op).wait();
  }
  void barrier() { barrier_async().wait(); }

 protected:
  Communicator() = default;
  // Called with arguments already checked: defined, contiguous, on a
  // supported device, a dtype the op supports, element counts consistent.
  virtual Work do_all_reduce(const Tensor& tensor, ReduceOp op) = 0;
  virtual Work do_broadcast(const Tensor& tensor, int root) = 0;
  virtual Work do_all_gather(const Tensor& output, const Tensor& input) = 0;
  virtual Work do_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op) = 0;
  virtual Work do_barrier() = 0;
};

// --- implementations ---------------------------------------------------------------
// A world of one process; the identity for every collective, on any device.
std::shared_ptr<Communicator> make_local_communicator();
// MPI_COMM_WORLD (MPI is initialised on first use). Throws DistError when
// kiln was built without MPI.
std::shared_ptr<Communicator> make_mpi_communicator();
// NCCL for CUDA tensors on `device` (an index). The ncclUniqueId is created on
// rank 0 and broadcast over `bootstrap` (a CPU communicator of the same ranks;
// null for a world of one). Throws DistError when kiln was built without NCCL.
std::shared_ptr<Communicator> make_nccl_communicator(int device, const std::shared_ptr<Communicator>& bootstrap);

bool is_mpi_built();
bool is_nccl_built();

}  // namespace kiln::dist
