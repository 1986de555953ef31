// Every collective of the MPI communicator, element by element, for
// f32/f64/f16/bf16/i64/i32/u8 and sizes 0, 1, odd, and larger than a 25 MiB
// bucket. Runs on every rank of `mpirun -np N` (ctest: N = 2). Values are
// small integers so that every dtype holds sums and averages exactly.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <string>
#include <tuple>

namespace kiln::dist {
namespace {

std::shared_ptr<Communicator> comm() {
  init(InitOptions().device(Device(kCPU)));
  return cpu_communicator();
}

// The value rank r contributes at element i.
double value(int64_t i, int r) { return static_cast<double>(i % 7 + r); }

Tensor filled(int64_t n, DType dtype, int r, int64_t base = 0) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = value(base + i, r);
  return tensor(v, {n}, kFloat64).to(dtype);
}

using Case = std::tuple<DType, int64_t>;

class MpiCollectives : public ::testing::TestWithParam<Case> {};

TEST_P(MpiCollectives, AllReduceSumAvgMaxMin) {
  auto c = comm();
  const auto [dtype, n] = GetParam();
  const int world = c->world_size();
  for (ReduceOp op : {ReduceOp::Sum, ReduceOp::Avg, ReduceOp::Max, ReduceOp::Min}) {
    if (op == ReduceOp::Avg && !is_floating(dtype)) continue;
    Tensor t = filled(n, dtype, c->rank());
    c->all_reduce(t, op);
    const std::vector<double> got = t.to_vector<double>();
    int64_t wrong = 0;
    for (int64_t i = 0; i < n; ++i) {
      double sum = 0;
      for (int r = 0; r < world; ++r) sum += value(i, r);
      const double expect = op == ReduceOp::Sum   ? sum
                            : op == ReduceOp::Avg ? sum / world
                            : op == ReduceOp::Max ? value(i, world - 1)
                                                  : value(i, 0);
      if (got[static_cast<size_t>(i)] != expect && wrong++ < 3)
        ADD_FAILURE() << reduce_op_name(op) << " element " << i << ": " << got[static_cast<size_t>(i)] << " != " << expect;
    }
    EXPECT_EQ(wrong, 0) << reduce_op_name(op);
  }
}

TEST_P(MpiCollectives, BroadcastFromTheLastRank) {
  auto c = comm();
  const auto [dtype, n] = GetParam();
  const int root = c->world_size() - 1;
  Tensor t = filled(n, dtype, c->rank());
  c->broadcast(t, root);
  EXPECT_EQ(t.to_vector<double>(), filled(n, dtype, root).to_vector<double>());
}

TEST_P(MpiCollectives, AllGatherOutOfPlaceAndInPlace) {
  auto c = comm();
  const auto [dtype, n] = GetParam();
  const int world = c->world_size(), me = c->rank();
  std::vector<double> expect;
  for (int r = 0; r < world; ++r) {
    const auto part = filled(n, dtype, r).to_vector<double>();
    expect.insert(expect.end(), part.begin(), part.end());
  }
  Tensor out = full({world * n}, 0, TensorOptions().dtype(dtype));
  c->all_gather(out, filled(n, dtype, me));
  EXPECT_EQ(out.to_vector<double>(), expect);
  // In place: this rank's input is its own slice of the output.
  Tensor buf = zeros({world * n}, TensorOptions().dtype(dtype));
  buf.narrow(0, me * n, n).copy_(filled(n, dtype, me));
  c->all_gather(buf, buf.narrow(0, me * n, n));
  EXPECT_EQ(buf.to_vector<double>(), expect);
}

TEST_P(MpiCollectives, ReduceScatterOutOfPlaceAndInPlace) {
  auto c = comm();
  const auto [dtype, n] = GetParam();
  const int world = c->world_size(), me = c->rank();
  // Input element j (of world * n) on rank r is value(j, r); rank me gets slice me summed.
  std::vector<double> expect(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i)
    for (int r = 0; r < world; ++r) expect[static_cast<size_t>(i)] += value(me * n + i, r);
  Tensor out = full({n}, 0, TensorOptions().dtype(dtype));
  c->reduce_scatter(out, filled(world * n, dtype, me), ReduceOp::Sum);
  EXPECT_EQ(out.to_vector<double>(), expect);
  Tensor buf = filled(world * n, dtype, me);
  Tensor mine = buf.narrow(0, me * n, n);
  c->reduce_scatter(mine, buf, ReduceOp::Sum);
  EXPECT_EQ(mine.to_vector<double>(), expect);
  if (is_floating(dtype)) {
    Tensor avg = full({n}, 0, TensorOptions().dtype(dtype));
    c->reduce_scatter(avg, filled(world * n, dtype, me), ReduceOp::Avg);
    for (auto& e : expect) e /= world;
    EXPECT_EQ(avg.to_vector<double>(), expect);
  }
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  return std::string(dtype_name(std::get<0>(info.param))) + "_n" + std::to_string(std::get<1>(info.param));
}

INSTANTIATE_TEST_SUITE_P(Sizes, MpiCollectives,
                         ::testing::Combine(::testing::Values(kFloat32, kFloat64, kFloat16, kBFloat16, kInt64, kInt32,
                                                              kUInt8),
                                            ::testing::Values(int64_t{0}, int64_t{1}, int64_t{7}, int64_t{4099})),
                         case_name);
// Larger than one 25 MiB bucket (7.3 M f32 elements = 29 MB; 14.7 M bf16).
INSTANTIATE_TEST_SUITE_P(LargerThanABucket, MpiCollectives,
                         ::testing::Values(Case{kFloat32, int64_t{7340033}}, Case{kBFloat16, int64_t{14680067}}),
                         case_name);

TEST(MpiCommunicator, LaunchedByMpirun) {
  auto c = comm();
  EXPECT_EQ(c->backend(), "mpi");
  EXPECT_GE(c->world_size(), 2) << "this executable is meant for mpirun -np 2 or more";
  EXPECT_EQ(environment().launcher, "mpirun");
  EXPECT_EQ(c->rank(), rank());
  EXPECT_EQ(c->local_rank(), local_rank()) << "all ranks on one machine";
  EXPECT_FALSE(c->supports(Device(kCUDA, 0)));
}

TEST(MpiCommunicator, AsyncWorkCompletesInOrderAndReportsItsTime) {
  auto c = comm();
  std::vector<Tensor> ts;
  std::vector<Work> works;
  for (int k = 0; k < 8; ++k) {
    ts.push_back(full({1000}, k + c->rank(), kFloat32));
    works.push_back(c->all_reduce_async(ts.back(), ReduceOp::Sum));
  }
  for (int k = 7; k >= 0; --k) works[static_cast<size_t>(k)].wait();  // any order of waiting
  for (int k = 0; k < 8; ++k) {
    EXPECT_TRUE(works[static_cast<size_t>(k)].is_completed());
    EXPECT_GT(works[static_cast<size_t>(k)].seconds(), 0.0);
    float expect = 0;
    for (int r = 0; r < c->world_size(); ++r) expect += static_cast<float>(k + r);
    EXPECT_EQ(ts[static_cast<size_t>(k)].at<float>({999}), expect);
  }
  c->barrier();
}

TEST(MpiCommunicator, ArgumentErrorsAreRaisedOnEveryRankBeforeAnyMessage) {
  auto c = comm();
  EXPECT_THROW(c->all_reduce(zeros({4, 4}).t()), ValueError);
  EXPECT_THROW(c->all_reduce(zeros({3}, kInt64), ReduceOp::Avg), DTypeError);
  EXPECT_THROW(c->reduce_scatter(zeros({3}), zeros({5})), ShapeError);
  // The communicator is still in step: a collective afterwards matches.
  Tensor t = ones({2});
  c->all_reduce(t);
  EXPECT_EQ(t.at<float>({0}), static_cast<float>(c->world_size()));
}

}  // namespace
}  // namespace kiln::dist
