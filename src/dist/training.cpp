#include "kiln/dist/training.h"

#include <cstring>

#include "kiln/dist/init.h"
#include "kiln/ops/factory.h"
#include "core/tensor_checks.h"

namespace kiln::dist {

namespace {

double reduce_one(double value, ReduceOp op) {
  auto comm = cpu_communicator();
  if (comm->world_size() == 1) return value;
  Tensor t = tensor(std::vector<double>{value});
  comm->all_reduce(t, op);
  return t.item<double>();
}

}  // namespace

double all_reduce_sum(double value) { return reduce_one(value, ReduceOp::Sum); }
double all_reduce_mean(double value) { return reduce_one(value, ReduceOp::Avg); }
double all_reduce_max(double value) { return reduce_one(value, ReduceOp::Max); }
double all_reduce_min(double value) { return reduce_one(value, ReduceOp::Min); }

std::vector<double> all_reduce_sum(const std::vector<double>& values) {
  auto comm = cpu_communicator();
  if (comm->world_size() == 1 || values.empty()) return values;
  Tensor t = tensor(values);
  comm->all_reduce(t, ReduceOp::Sum);
  return t.to_vector<double>();
}

Tensor gather_rows_in_dataset_order(const Tensor& rows, int64_t dataset_size) {
  const char* op = "gather_rows_in_dataset_order";
  KILN_CHECK(rows.defined() && rows.dim() >= 1, ShapeError, op, ": rows must have a first dimension, got ",
             rows.defined() ? shape_str(rows.sizes()) : std::string("undefined"));
  auto comm = cpu_communicator();
  const int64_t world = comm->world_size(), n = rows.size(0);
  KILN_CHECK(n * world >= dataset_size && n * world < dataset_size + world, ValueError, op, ": ", n,
             " rows per rank over ", world, " ranks cannot be the shards of ", dataset_size,
             " examples (expected ceil(dataset_size / world_size) rows on every rank)");
  Tensor mine = rows.cpu().contiguous();
  if (world == 1) return mine.narrow(0, 0, dataset_size);
  Shape all_shape = mine.sizes();
  all_shape[0] = n * world;
  Tensor all = empty(all_shape, mine.dtype());
  comm->all_gather(all, mine);
  // [world, n, ...] -> [n, world, ...]: row k of rank r is example r + k * world.
  Shape split = mine.sizes();
  split.insert(split.begin(), world);
  Tensor ordered = all.view(split).transpose(0, 1).contiguous();
  Shape flat = mine.sizes();
  flat[0] = n * world;
  return ordered.view(flat).narrow(0, 0, dataset_size);
}

void run_on_main(const std::function<void()>& fn, const std::string& what) {
  auto comm = cpu_communicator();
  if (comm->world_size() == 1) {
    fn();  // nobody waits: the exception goes up as it is
    return;
  }
  std::string error;
  if (comm->rank() == 0) {
    try {
      fn();
    } catch (const std::exception& e) {
      error = e.what();
      if (error.empty()) error = "unknown error";
    }
  }
  Tensor len = tensor(std::vector<int64_t>{static_cast<int64_t>(error.size())});
  comm->broadcast(len, 0);
  const int64_t n = len.item<int64_t>();
  if (n == 0) return;
  Tensor text = zeros({n}, kUInt8);
  if (comm->rank() == 0) std::memcpy(text.raw_data_ptr(), error.data(), error.size());
  comm->broadcast(text, 0);
  const std::string message(static_cast<const char*>(text.raw_data_ptr()), static_cast<size_t>(n));
  throw Error(kiln::detail::str_cat(what, " failed on rank 0: ", message));
}

void record_world_size(io::TrainingState& state) {
  state.metadata["dist.world_size"] = std::to_string(world_size());
}

void check_world_size(const io::TrainingState& state) {
  auto it = state.metadata.find("dist.world_size");
  const std::string saved = it == state.metadata.end() ? "1" : it->second;
  KILN_CHECK(saved == std::to_string(world_size()), ValueError, "resume: the checkpoint was saved by ", saved,
             " ranks but this run has ", world_size(),
             " (its data-loader position and learning-rate schedule assume the saved world size)");
}

}  // namespace kiln::dist
