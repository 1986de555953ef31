// Rows for sort and topk (include/kiln/ops/sort.h), the ops of
// src/ops/sort.cpp, src/cpu/sort_cpu.cpp, src/cuda/sort_cuda.cpp and
// kernels/sort.cu. The reference is std::stable_sort of each line of
// doubles (NaN last), written from PyTorch's documentation.
#include <algorithm>
#include <cmath>
#include <numeric>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

bool before(double a, double b, bool descending) {
  const bool an = std::isnan(a), bn = std::isnan(b);
  if (descending) return !bn && (an || a > b);
  return !an && (bn || a < b);
}

// Values and indices of the first `k` of each line along dim, stably sorted.
std::vector<Ref> ref_sorted(const Ref& x, int64_t dim, bool descending, int64_t k) {
  if (x.shape.empty()) return {x, Ref{{}, {0.0}, kInt64}};
  const int64_t nd = static_cast<int64_t>(x.shape.size());
  const int64_t d = dim < 0 ? dim + nd : dim;
  Shape out_shape = x.shape;
  out_shape[d] = k;
  Ref values{out_shape, std::vector<double>(static_cast<size_t>(numel_of(out_shape))), std::nullopt};
  Ref indices{out_shape, values.v, kInt64};
  const int64_t n = x.shape[d];
  const Shape st = contiguous_strides_of(x.shape), ost = contiguous_strides_of(out_shape);
  for (int64_t i = 0; i < numel_of(x.shape); ++i) {
    std::vector<int64_t> idx = unravel(i, x.shape);
    if (idx[d] != 0) continue;  // one line per start
    std::vector<int64_t> order(static_cast<size_t>(n));
    std::iota(order.begin(), order.end(), int64_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](int64_t a, int64_t b) { return before(x.v[i + a * st[d]], x.v[i + b * st[d]], descending); });
    idx[d] = 0;
    const int64_t o = ravel(idx, out_shape);
    for (int64_t j = 0; j < k; ++j) {
      values.v[o + j * ost[d]] = x.v[i + order[j] * st[d]];
      indices.v[o + j * ost[d]] = static_cast<double>(order[j]);
    }
  }
  return {values, indices};
}

// The NaN samples hold fixed float32 values, so they run as float32 only.
std::vector<Skip> nan_sample_skips() {
  std::vector<Skip> skips;
  for (DType t : {kFloat64, kFloat16, kBFloat16, kInt32, kInt64})
    skips.push_back(Skip{"", t, "ties_nan", "fixed float32 input (NaN and ties): runs as float32 only"});
  return skips;
}

std::vector<std::tuple<SampleInput, int64_t>> line_cases() {
  return {{in({4, 7}), 1},  {in({4, 7}), 0},       {in({2, 3, 5}), 1}, {in({3, 6}, kT), -1},
          {in({5, 6}, kE), 0}, {in({}), 0},        {in({1, 1, 5}), -1}, {in({0, 4}), 1},
          {in({9}), 0},     {in({3, 2000}), 1}};
}

}  // namespace

std::vector<OpRow> sort_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "sort";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = [](const std::vector<Tensor>& v, const Attrs& a) {
      auto [values, indices] = sort(v[0], a.i("dim"), a.b("descending"));
      return std::vector<Tensor>{values, indices};
    };
    r.ref = [](const std::vector<Ref>& v, const Attrs& a) {
      const int64_t nd = static_cast<int64_t>(v[0].shape.size());
      const int64_t n = nd == 0 ? 1 : v[0].shape[a.i("dim") < 0 ? a.i("dim") + nd : a.i("dim")];
      return ref_sorted(v[0], a.i("dim"), a.b("descending"), n);
    };
    r.samples = [] {
      std::vector<Sample> s;
      for (const auto& [input, dim] : line_cases())
        for (bool desc : {false, true})
          s.push_back(sample({input}, Attrs().i("dim", dim).b("descending", desc),
                             "dim" + std::to_string(dim) + (desc ? "_desc" : "")));
      // Ties and NaN: fixed values (float, so never differentiated).
      const std::vector<double> ties = {2, -1, 2, NAN, 0, -1, NAN, 2, 5, 0};
      for (bool desc : {false, true}) {
        Sample t = sample({fixed({2, 5}, ties, kFloat32)}, Attrs().i("dim", 1).b("descending", desc),
                          desc ? "ties_nan_desc" : "ties_nan");
        t.differentiable = false;
        s.push_back(t);
      }
      return s;
    };
    r.skips = nan_sample_skips();
    r.errors = {error("dim_out_of_range", [] { sort(zeros({2, 3}), 2); }, ErrorKind::Index, {"sort", "dim 2"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "topk";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = [](const std::vector<Tensor>& v, const Attrs& a) {
      auto [values, indices] = topk(v[0], a.i("k"), a.i("dim"), a.b("largest"));
      return std::vector<Tensor>{values, indices};
    };
    r.ref = [](const std::vector<Ref>& v, const Attrs& a) {
      return ref_sorted(v[0], a.i("dim"), a.b("largest"), a.i("k"));
    };
    r.samples = [] {
      std::vector<Sample> s;
      for (const auto& [input, dim] : line_cases()) {
        const int64_t nd = static_cast<int64_t>(input.shape.size());
        const int64_t n = nd == 0 ? 1 : input.shape[dim < 0 ? dim + nd : dim];
        for (int64_t k : {int64_t{0}, std::min<int64_t>(n, 3), n})
          for (bool largest : {true, false})
            s.push_back(sample({input}, Attrs().i("dim", dim).i("k", k).b("largest", largest),
                               "dim" + std::to_string(dim) + "_k" + std::to_string(k) + (largest ? "" : "_smallest")));
      }
      const std::vector<double> ties = {2, -1, 2, NAN, 0, -1, NAN, 2, 5, 0};
      for (bool largest : {true, false}) {
        Sample t = sample({fixed({10}, ties, kFloat32)}, Attrs().i("dim", 0).i("k", 4).b("largest", largest),
                          largest ? "ties_nan" : "ties_nan_smallest");
        t.differentiable = false;
        s.push_back(t);
      }
      return s;
    };
    r.skips = nan_sample_skips();
    r.errors = {error("k_too_large", [] { topk(zeros({2, 3}), 4); }, ErrorKind::Value, {"topk", "k (4)", "[0, 3]"}),
                error("negative_k", [] { topk(zeros({2, 3}), -1); }, ErrorKind::Value, {"topk", "k (-1)"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
