// The checks every communicator shares, the Work handle, and the world of
// one process ("local").
#include "kiln/dist/communicator.h"

#include "core/tensor_impl.h"
#include "dist/mpi_shutdown.h"
#include "dist/work.h"
#include "core/tensor_checks.h"

namespace kiln::dist {

const char* reduce_op_name(ReduceOp op) {
  switch (op) {
    case ReduceOp::Sum: return "sum";
    case ReduceOp::Avg: return "avg";
    case ReduceOp::Max: return "max";
    case ReduceOp::Min: return "min";
  }
  return "?";
}

void Work::wait() const {
  if (impl_) impl_->wait();
}
bool Work::is_completed() const { return !impl_ || impl_->is_completed(); }
double Work::seconds() const { return impl_ ? impl_->seconds() : 0.0; }

namespace {

void check_tensor(const Communicator& c, const char* op, const Tensor& t, const char* what) {
  KILN_CHECK(t.defined(), ValueError, op, ": ", what, " is undefined");
  KILN_CHECK(t.is_contiguous(), ValueError, op, ": ", what, " ", kiln::detail::describe(t),
             " must be contiguous (collectives work on the tensor's memory in place)");
  KILN_CHECK(c.supports(t.device()), DeviceError, op, ": ", what, " ", kiln::detail::describe(t), " is on ",
             t.device(), ", which the ", c.backend(), " communicator does not handle",
             c.backend() == "nccl" ? " (NCCL takes tensors on its own CUDA device)" : " (MPI takes CPU tensors)");
}

void check_reducible(const char* op, const Tensor& t, ReduceOp rop) {
  KILN_CHECK(t.dtype() != kBool, DTypeError, op, ": cannot reduce (", reduce_op_name(rop), ") a bool tensor ",
             kiln::detail::describe(t));
  KILN_CHECK(rop != ReduceOp::Avg || t.is_floating_point(), DTypeError, op,
             ": avg is defined for floating dtypes only, got ", kiln::detail::describe(t), " (use sum)");
}

void check_same_kind(const char* op, const Tensor& output, const Tensor& input) {
  KILN_CHECK(output.dtype() == input.dtype(), DTypeError, op, ": output ", kiln::detail::describe(output),
             " and input ", kiln::detail::describe(input), " must have the same dtype");
  KILN_CHECK(output.device() == input.device(), DeviceError, op, ": output is on ", output.device(),
             " but input is on ", input.device());
}

}  // namespace

Work Communicator::all_reduce_async(const Tensor& tensor, ReduceOp op) {
  check_tensor(*this, "all_reduce", tensor, "tensor");
  check_reducible("all_reduce", tensor, op);
  Work w = do_all_reduce(tensor, op);
  kiln::detail::bump_version(tensor);
  return w;
}

Work Communicator::broadcast_async(const Tensor& tensor, int root) {
  check_tensor(*this, "broadcast", tensor, "tensor");
  KILN_CHECK(root >= 0 && root < world_size(), ValueError, "broadcast: root ", root, " is not a rank of a world of ",
             world_size());
  Work w = do_broadcast(tensor, root);
  kiln::detail::bump_version(tensor);
  return w;
}

Work Communicator::all_gather_async(const Tensor& output, const Tensor& input) {
  check_tensor(*this, "all_gather", output, "output");
  check_tensor(*this, "all_gather", input, "input");
  check_same_kind("all_gather", output, input);
  KILN_CHECK(output.numel() == input.numel() * world_size(), ShapeError, "all_gather: output ",
             kiln::detail::describe(output), " must have world_size (", world_size(), ") x ", input.numel(),
             " elements of input ", kiln::detail::describe(input));
  Work w = do_all_gather(output, input);
  kiln::detail::bump_version(output);
  return w;
}

Work Communicator::reduce_scatter_async(const Tensor& output, const Tensor& input, ReduceOp op) {
  check_tensor(*this, "reduce_scatter", output, "output");
  check_tensor(*this, "reduce_scatter", input, "input");
  check_same_kind("reduce_scatter", output, input);
  check_reducible("reduce_scatter", input, op);
  KILN_CHECK(input.numel() == output.numel() * world_size(), ShapeError, "reduce_scatter: input ",
             kiln::detail::describe(input), " must have world_size (", world_size(), ") x ", output.numel(),
             " elements of output ", kiln::detail::describe(output));
  Work w = do_reduce_scatter(output, input, op);
  kiln::detail::bump_version(output);
  kiln::detail::bump_version(input);
  return w;
}

Work Communicator::barrier_async() { return do_barrier(); }

// --- a world of one --------------------------------------------------------------

namespace {

class LocalCommunicator : public Communicator {
 public:
  int rank() const override { return 0; }
  int world_size() const override { return 1; }
  int local_rank() const override { return 0; }
  std::string backend() const override { return "local"; }
  bool supports(const Device&) const override { return true; }

 protected:
  // Sum, average, max and min over one rank are the tensor itself.
  Work do_all_reduce(const Tensor&, ReduceOp) override { return Work(); }
  Work do_broadcast(const Tensor&, int) override { return Work(); }
  Work do_all_gather(const Tensor& output, const Tensor& input) override { return copy(output, input); }
  Work do_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp) override { return copy(output, input); }
  Work do_barrier() override { return Work(); }

 private:
  static Work copy(const Tensor& output, const Tensor& input) {
    if (output.raw_data_ptr() != input.raw_data_ptr() && output.numel() > 0)
      output.view({-1}).copy_(input.view({-1}));
    return Work();
  }
};

}  // namespace

std::shared_ptr<Communicator> make_local_communicator() { return std::make_shared<LocalCommunicator>(); }

bool is_mpi_built() { return KILN_WITH_MPI != 0; }
bool is_nccl_built() { return KILN_WITH_NCCL != 0; }

#if !KILN_WITH_MPI
void detail::shutdown_mpi() {}
std::shared_ptr<Communicator> make_mpi_communicator() {
  throw DistError("make_mpi_communicator: kiln was built without MPI (install libopenmpi-dev and reconfigure)");
}
#endif
#if !KILN_WITH_NCCL
std::shared_ptr<Communicator> make_nccl_communicator(int, const std::shared_ptr<Communicator>&) {
  throw DistError(
      "make_nccl_communicator: kiln was built without NCCL (a CUDA build finds it in the toolkit or NCCL_ROOT)");
}
#endif

}  // namespace kiln::dist
