// The MPI communicator: CPU tensors over MPI_COMM_WORLD. Every collective is
// a blocking MPI call run on the MPI thread (see mpi_runtime.h), so the
// asynchronous form returns at once and the work proceeds while the caller
// computes. The Work keeps the tensors alive until the call has run.
#include "dist/mpi_runtime.h"
#include "kiln/dist/communicator.h"

#include <climits>
#include <cstring>

#include "kiln/core/half.h"

namespace kiln::dist {

namespace {

using detail::check_mpi;
using detail::MpiRuntime;

// MPI counts are ints: split larger transfers into chunks of this many elements.
constexpr int64_t kMaxChunk = int64_t{1} << 30;

MPI_Datatype mpi_type(DType t) {
  switch (t) {
    case DType::Bool: return MPI_C_BOOL;
    case DType::UInt8: return MPI_UINT8_T;
    case DType::Int32: return MPI_INT32_T;
    case DType::Int64: return MPI_INT64_T;
    case DType::Float16:
    case DType::BFloat16: return MPI_UINT16_T;  // moved as bits; reduced by the user ops
    case DType::Float32: return MPI_FLOAT;
    case DType::Float64: return MPI_DOUBLE;
    default: break;  // the storage-only dtypes (kiln/core/dtype.h)
  }
  throw_storage_only(t);
}

MPI_Op mpi_op(const MpiRuntime& rt, DType t, ReduceOp op) {
  const int kind = op == ReduceOp::Max ? 1 : op == ReduceOp::Min ? 2 : 0;  // Avg = Sum, then divide
  if (t == kFloat16 || t == kBFloat16) return rt.half_op(t == kBFloat16, kind);
  return kind == 1 ? MPI_MAX : kind == 2 ? MPI_MIN : MPI_SUM;
}

// The division that turns a sum into an average (floating dtypes only), in
// the dtype's opmath, on the MPI thread so wait() sees the final value.
void divide(void* data, int64_t n, DType t, int world) {
  visit_dtype(t, [&](auto tag) {
    using T = decltype(tag);
    if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double> || std::is_same_v<T, Half> ||
                  std::is_same_v<T, BFloat16>) {
      using Op = opmath_t<T>;
      T* p = static_cast<T*>(data);
      const Op w = static_cast<Op>(world);
      for (int64_t i = 0; i < n; ++i) p[i] = T(static_cast<Op>(p[i]) / w);
    }
  });
}

class MpiCommunicator : public Communicator {
 public:
  MpiCommunicator() : rt_(MpiRuntime::instance()) {}
  int rank() const override { return rt_.rank(); }
  int world_size() const override { return rt_.size(); }
  int local_rank() const override { return rt_.local_rank(); }
  std::string backend() const override { return "mpi"; }
  bool supports(const Device& d) const override { return d.is_cpu(); }

 protected:
  Work do_all_reduce(const Tensor& t, ReduceOp op) override {
    const MPI_Datatype type = mpi_type(t.dtype());
    const MPI_Op mop = mpi_op(rt_, t.dtype(), op);
    const int world = world_size();
    return rt_.submit([t, type, mop, op, world] {
      char* p = static_cast<char*>(t.raw_data_ptr());
      const size_t es = t.element_size();
      for (int64_t at = 0; at < t.numel(); at += kMaxChunk) {
        const int n = static_cast<int>(std::min(kMaxChunk, t.numel() - at));
        check_mpi(MPI_Allreduce(MPI_IN_PLACE, p + at * es, n, type, mop, MPI_COMM_WORLD), "MPI_Allreduce");
      }
      if (op == ReduceOp::Avg) divide(p, t.numel(), t.dtype(), world);
    });
  }

  Work do_broadcast(const Tensor& t, int root) override {
    const MPI_Datatype type = mpi_type(t.dtype());
    return rt_.submit([t, type, root] {
      char* p = static_cast<char*>(t.raw_data_ptr());
      const size_t es = t.element_size();
      for (int64_t at = 0; at < t.numel(); at += kMaxChunk) {
        const int n = static_cast<int>(std::min(kMaxChunk, t.numel() - at));
        check_mpi(MPI_Bcast(p + at * es, n, type, root, MPI_COMM_WORLD), "MPI_Bcast");
      }
    });
  }

  Work do_all_gather(const Tensor& output, const Tensor& input) override {
    const MPI_Datatype type = mpi_type(input.dtype());
    const int rank = this->rank();
    KILN_CHECK(input.numel() <= INT_MAX, ValueError, "all_gather: ", input.numel(),
               " elements per rank is more than MPI's int count allows");
    return rt_.submit([output, input, type, rank] {
      const int n = static_cast<int>(input.numel());
      char* out = static_cast<char*>(output.raw_data_ptr());
      const bool in_place = input.raw_data_ptr() == out + static_cast<size_t>(rank) * n * input.element_size();
      check_mpi(MPI_Allgather(in_place ? MPI_IN_PLACE : input.raw_data_ptr(), n, type, out, n, type, MPI_COMM_WORLD),
                "MPI_Allgather");
    });
  }

  Work do_reduce_scatter(const Tensor& output, const Tensor& input, ReduceOp op) override {
    const MPI_Datatype type = mpi_type(input.dtype());
    const MPI_Op mop = mpi_op(rt_, input.dtype(), op);
    const int rank = this->rank(), world = world_size();
    KILN_CHECK(output.numel() <= INT_MAX, ValueError, "reduce_scatter: ", output.numel(),
               " elements per rank is more than MPI's int count allows");
    return rt_.submit([output, input, type, mop, op, rank, world] {
      const int n = static_cast<int>(output.numel());
      const size_t es = input.element_size();
      char* in = static_cast<char*>(input.raw_data_ptr());
      char* out = static_cast<char*>(output.raw_data_ptr());
      if (out == in + static_cast<size_t>(rank) * n * es) {
        // In place: MPI leaves the result at the start of the buffer; move it to this rank's slice.
        check_mpi(MPI_Reduce_scatter_block(MPI_IN_PLACE, in, n, type, mop, MPI_COMM_WORLD), "MPI_Reduce_scatter_block");
        if (rank != 0) std::memmove(out, in, static_cast<size_t>(n) * es);
      } else {
        check_mpi(MPI_Reduce_scatter_block(in, out, n, type, mop, MPI_COMM_WORLD), "MPI_Reduce_scatter_block");
      }
      if (op == ReduceOp::Avg) divide(out, n, input.dtype(), world);
    });
  }

  Work do_barrier() override {
    return rt_.submit([] { check_mpi(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier"); });
  }

 private:
  MpiRuntime& rt_;
};

}  // namespace

std::shared_ptr<Communicator> make_mpi_communicator() { return std::make_shared<MpiCommunicator>(); }

}  // namespace kiln::dist
