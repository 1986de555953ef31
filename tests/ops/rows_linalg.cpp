// Rows for include/kiln/ops/linalg.h: matmul (NumPy semantics), mm, bmm.
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// NumPy matmul on references: promote 1-D operands, broadcast batches.
Ref ref_matmul(const Ref& a_in, const Ref& b_in) {
  Ref a = a_in, b = b_in;
  const bool a_vec = a.shape.size() == 1, b_vec = b.shape.size() == 1;
  if (a_vec) a.shape.insert(a.shape.begin(), 1);
  if (b_vec) b.shape.push_back(1);
  const int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(), n = b.shape.back();
  Shape ab(a.shape.begin(), a.shape.end() - 2), bb(b.shape.begin(), b.shape.end() - 2);
  Shape batch = broadcast(ab, bb);
  Ref out;
  out.shape = batch;
  out.shape.push_back(m);
  out.shape.push_back(n);
  const int64_t nb = numel_of(batch);
  for (int64_t bi = 0; bi < nb; ++bi) {
    auto bidx = unravel(bi, batch);
    auto offset = [&](const Shape& own) {
      // Row-major offset of batch index bidx (broadcast) into an operand batch shape.
      int64_t off = 0;
      const size_t lead = bidx.size() - own.size();
      for (size_t d = 0; d < own.size(); ++d) off = off * own[d] + (own[d] == 1 ? 0 : bidx[lead + d]);
      return off;
    };
    const int64_t ao = offset(ab) * m * k, bo = offset(bb) * k * n;
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double s = 0;
        for (int64_t p = 0; p < k; ++p) s += a.v[ao + i * k + p] * b.v[bo + p * n + j];
        out.v.push_back(s);
      }
  }
  if (a_vec) out.shape.erase(out.shape.end() - 2);
  if (b_vec) out.shape.erase(out.shape.end() - 1);
  return out;
}

}  // namespace

std::vector<OpRow> linalg_rows() {
  std::vector<OpRow> rows;
  // Products accumulate K terms (f32 BLAS accumulates in f32, so the error
  // grows with K); f16/bf16 inputs are exact in f32 and the result rounds once.
  const std::vector<std::pair<DType, Tolerance>> tol = {
      {kFloat32, {1e-4, 1e-4}}, {kFloat16, {2e-3, 5e-3}}, {kBFloat16, {1.6e-2, 4e-2}}};
  const RefFn ref = one_ref([](const std::vector<Ref>& v, const Attrs&) { return ref_matmul(v[0], v[1]); });
  {
    OpRow r;
    r.name = "matmul";
    r.dtypes = floating_dtypes();
    r.tolerances = tol;
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) { return matmul(v[0], v[1]); });
    r.ref = ref;
    r.samples = [] {
      const std::vector<std::vector<SampleInput>> cases = {
          {in({5}), in({5})},                 // dot
          {in({3, 5}), in({5})},              // matrix-vector
          {in({5}), in({5, 4})},              // vector-matrix
          {in({3, 5}), in({5, 4})},           // 2-D
          {in({3, 5}, kT), in({5, 4}, kT)},   // transposed operands (column-major for BLAS)
          {in({3, 5}, kS), in({5, 4}, kS)},   // strided rows: copied
          {in({2, 3, 5}), in({2, 5, 4})},     // batched
          {in({2, 3, 5}), in({5, 4})},        // batch @ matrix
          {in({5}), in({2, 5, 4})},           // vector @ batch
          {in({2, 1, 3, 5}), in({4, 5, 2})},  // broadcast batches
          {in({4, 3, 5}, kE), in({5, 2})},    // expanded (stride-0) batch
          {in({1, 5}), in({5, 1})},           // 1x1 result
          {in({3, 0}), in({0, 4})},           // K = 0: zeros
          {in({0, 5}), in({5, 4})},           // M = 0
          {in({2, 3, 0}), in({0, 4})},        // batched K = 0
          {in({67, 131}), in({131, 45})},     // odd sizes
      };
      std::vector<Sample> s;
      for (const auto& c : cases) s.push_back(sample(c));
      return s;
    };
    r.errors = {
        error("inner_mismatch", [] { matmul(zeros({2, 3}), zeros({4, 5})); }, ErrorKind::Shape, {"matmul", "[2, 3]", "[4, 5]"}),
        error("zero_dim", [] { matmul(zeros({}), zeros({3})); }, ErrorKind::Shape, {"matmul", "1 dim"}),
        error("integer", [] { matmul(zeros({2, 2}, kInt64), zeros({2, 2}, kInt64)); }, ErrorKind::DType, {"int64"}),
        error("mixed_dtypes", [] { matmul(zeros({2, 2}), zeros({2, 2}, kFloat64)); }, ErrorKind::DType,
              {"float32", "float64"}),
        error("batch_mismatch", [] { matmul(zeros({2, 3, 4}), zeros({3, 4, 5})); }, ErrorKind::Shape, {"matmul", "[2]", "[3]"}),
    };
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "mm";
    r.dtypes = floating_dtypes();
    r.tolerances = tol;
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) { return mm(v[0], v[1]); });
    r.ref = ref;
    r.samples = [] {
      std::vector<Sample> s;
      for (const auto& c : std::vector<std::vector<SampleInput>>{
               {in({3, 5}), in({5, 4})}, {in({3, 5}, kT), in({5, 4})}, {in({1, 7}), in({7, 1})}, {in({4, 0}), in({0, 2})}})
        s.push_back(sample(c));
      return s;
    };
    r.errors = {error("not_2d", [] { mm(zeros({2, 3, 4}), zeros({4, 5})); }, ErrorKind::Shape, {"mm", "[2, 3, 4]"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "bmm";
    r.dtypes = floating_dtypes();
    r.tolerances = tol;
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) { return bmm(v[0], v[1]); });
    r.ref = ref;
    r.samples = [] {
      std::vector<Sample> s;
      for (const auto& c : std::vector<std::vector<SampleInput>>{{in({2, 3, 5}), in({2, 5, 4})},
                                                                 {in({3, 4, 2}, kT), in({3, 2, 5}, kS)},
                                                                 {in({1, 1, 1}), in({1, 1, 1})},
                                                                 {in({0, 2, 3}), in({0, 3, 4})}})
        s.push_back(sample(c));
      return s;
    };
    r.errors = {error("batch_mismatch", [] { bmm(zeros({2, 3, 4}), zeros({3, 4, 5})); }, ErrorKind::Shape,
                      {"bmm", "[2, 3, 4]", "[3, 4, 5]"}),
                error("not_3d", [] { bmm(zeros({3, 4}), zeros({4, 5})); }, ErrorKind::Shape, {"bmm", "3-D"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
