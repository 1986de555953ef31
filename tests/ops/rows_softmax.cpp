// Rows for softmax and log_softmax (include/kiln/ops/reduce.h), the op of
// src/ops/softmax.cpp, src/cpu/softmax_cpu.cpp, src/cuda/softmax_cuda.cpp
// and kernels/softmax.cu.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

double ref_lse(const std::vector<double>& g) {
  if (g.empty()) return -std::numeric_limits<double>::infinity();  // log(0)
  const double m = *std::max_element(g.begin(), g.end());
  double s = 0;
  for (double v : g) s += std::exp(v - m);
  return std::log(s) + m;
}

// softmax (or log_softmax) of x over dim, in float64.
Ref ref_softmax(const Ref& x, int64_t dim, bool is_log) {
  Ref out{x.shape, x.v, std::nullopt};
  if (x.shape.empty()) {
    out.v = {is_log ? 0.0 : 1.0};
    return out;
  }
  const int64_t d = dim < 0 ? dim + static_cast<int64_t>(x.shape.size()) : dim;
  Ref lse = reduce_ref(x, {d}, true, ref_lse);
  for (int64_t i = 0; i < numel_of(x.shape); ++i) {
    const double l = at_broadcast(lse, unravel(i, x.shape));
    out.v[i] = is_log ? x.v[i] - l : std::exp(x.v[i] - l);
  }
  return out;
}

}  // namespace

std::vector<OpRow> softmax_rows() {
  std::vector<OpRow> rows;
  for (bool is_log : {false, true}) {
    OpRow r;
    r.name = is_log ? "log_softmax" : "softmax";
    r.dtypes = floating_dtypes();
    r.grad = grad_on();
    r.tolerances = {{kFloat16, {4e-3, 4e-3}}, {kBFloat16, {3e-2, 3e-2}}};
    r.fn = one_output([is_log](const std::vector<Tensor>& v, const Attrs& a) {
      return is_log ? log_softmax(v[0], a.i("dim")) : softmax(v[0], a.i("dim"));
    });
    r.ref = one_ref([is_log](const std::vector<Ref>& v, const Attrs& a) { return ref_softmax(v[0], a.i("dim"), is_log); });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, int64_t>> cases = {
          {in({4, 7}), 1},  {in({4, 7}), 0},        {in({2, 3, 5}), 1}, {in({3, 6}, kT), -1},
          {in({5, 6}, kE), 0}, {in({}), 0},         {in({1, 1, 5}), -1}, {in({0, 4}), 1},
          {in({64, 1025}), 1}};
      for (const auto& [input, dim] : cases) s.push_back(sample({input}, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
      s.push_back(sample({in_domain({2, 3}, Domain::Large)}, Attrs().i("dim", 1), "large_values"));
      // An empty row: nothing to normalise, an empty result. (This row once
      // carried a logsumexp sample here; logsumexp has its own row.)
      s.push_back(sample({in({0})}, Attrs().i("dim", 0), "empty_row"));
      return s;
    };
    r.errors = {error("integer_input", [is_log] { is_log ? log_softmax(zeros({2}, kInt64), 0) : softmax(zeros({2}, kInt64), 0); },
                      ErrorKind::DType, {is_log ? "log_softmax" : "softmax", "int64"}),
                error("dim_out_of_range", [] { softmax(zeros({2, 3}), 2); }, ErrorKind::Index, {"softmax", "dim 2"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
