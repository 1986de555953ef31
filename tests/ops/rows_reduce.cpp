// Rows for the reductions and softmax of include/kiln/ops/reduce.h.
#include <algorithm>
#include <cmath>
#include <limits>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

double ref_sum(const std::vector<double>& g) {
  double s = 0;
  for (double v : g) s += v;
  return s;
}
double ref_mean(const std::vector<double>& g) { return ref_sum(g) / static_cast<double>(g.size()); }
double ref_var(const std::vector<double>& g, int64_t correction) {
  const double m = ref_mean(g);
  double s = 0;
  for (double v : g) s += (v - m) * (v - m);
  return s / static_cast<double>(static_cast<int64_t>(g.size()) - correction);
}
double ref_max(const std::vector<double>& g) { return *std::max_element(g.begin(), g.end()); }
double ref_min(const std::vector<double>& g) { return *std::min_element(g.begin(), g.end()); }
double ref_argmax(const std::vector<double>& g) { return double(std::max_element(g.begin(), g.end()) - g.begin()); }
double ref_argmin(const std::vector<double>& g) { return double(std::min_element(g.begin(), g.end()) - g.begin()); }
double ref_lse(const std::vector<double>& g) {
  if (g.empty()) return -std::numeric_limits<double>::infinity();  // log(0)
  const double m = ref_max(g);
  double s = 0;
  for (double v : g) s += std::exp(v - m);
  return std::log(s) + m;
}

struct DimCase {
  SampleInput input;
  Shape dims;
  bool keepdim;
};

// Reductions over several dim sets, keepdim both ways, non-contiguous and
// broadcast inputs, a large threaded case, and 0-dim / size-1 inputs.
std::vector<DimCase> dim_cases(bool allow_empty) {
  std::vector<DimCase> c = {
      {in({4, 7}), {}, false},        {in({4, 7}), {1}, false},          {in({4, 7}), {0}, true},
      {in({2, 3, 5}), {0, 2}, false}, {in({2, 3, 5}), {-1}, true},       {in({3, 6}, kT), {1}, false},
      {in({2, 3, 4}, kS), {1, 2}, true}, {in({5, 6}, kE), {0}, false},   {in({}), {}, false},
      {in({1, 1, 5}), {1}, false},    {in({9}), {0}, false},             {in({300, 257}), {1}, false},
      {in({3, 40000}), {1}, false},   {in({40000}), {}, false},
  };
  if (allow_empty) {
    c.push_back({in({0, 3}), {0}, false});
    c.push_back({in({0, 3}), {1}, true});
  }
  return c;
}

OpRow reduce_row(const std::string& name, std::function<Tensor(const Tensor&, const Shape&, bool)> f,
                 std::function<double(const std::vector<double>&)> r, std::vector<DType> dtypes, bool allow_empty,
                 bool differentiable = true) {
  OpRow row;
  row.name = name;
  row.dtypes = std::move(dtypes);
  if (differentiable) row.grad = grad_on();
  row.samples = [f, r, allow_empty] {
    std::vector<Sample> out;
    for (const DimCase& c : dim_cases(allow_empty)) {
      const Shape dims = c.dims;
      const bool keep = c.keepdim;
      out.push_back(sample({c.input}, [f, dims, keep](const std::vector<Tensor>& v) { return f(v[0], dims, keep); },
                           [r, dims, keep](const std::vector<Ref>& v) { return reduce_ref(v[0], dims, keep, r); },
                           shape_tag(dims, keep)));
    }
    return out;
  };
  return row;
}

}  // namespace

std::vector<OpRow> reduction_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r = reduce_row("sum", [](const Tensor& x, const Shape& d, bool k) { return sum(x, d, k); }, ref_sum,
                         numeric_dtypes(), true);
    r.out_dtype = [](DType t) { return is_floating(t) ? t : kInt64; };
    // Long sums in f16/bf16 round once at the end (f32 accumulation), but the
    // inputs are large numbers of terms of mixed sign: allow an absolute slack.
    r.tolerances = {{kFloat16, {2e-3, 2e-1}}, {kBFloat16, {1.6e-2, 1.6}}, {kFloat32, {1e-5, 1e-3}}};
    r.errors = {error("dim_out_of_range", [] { sum(zeros({2, 3}), {2}); }, ErrorKind::Index, {"sum", "dim 2", "rank 2"}),
                error("repeated_dim", [] { sum(zeros({2, 3}), {1, -1}); }, ErrorKind::Index, {"sum", "more than once"})};
    rows.push_back(r);
  }
  {
    OpRow r = reduce_row("mean", [](const Tensor& x, const Shape& d, bool k) { return mean(x, d, k); }, ref_mean,
                         floating_dtypes(), false);
    r.tolerances = {{kFloat16, {2e-3, 1e-2}}, {kBFloat16, {1.6e-2, 5e-2}}, {kFloat32, {1e-5, 1e-5}}};
    r.errors = {error("integer_input", [] { mean(zeros({2}, kInt64)); }, ErrorKind::DType, {"mean", "int64"})};
    rows.push_back(r);
  }
  {
    OpRow r = reduce_row("amax", [](const Tensor& x, const Shape& d, bool k) { return amax(x, d, k); }, ref_max,
                         numeric_dtypes(), false);
    r.errors = {error("empty_dim", [] { amax(zeros({0, 3}), {0}); }, ErrorKind::Value, {"amax", "size 0", "[0, 3]"})};
    rows.push_back(r);
  }
  rows.push_back(reduce_row("amin", [](const Tensor& x, const Shape& d, bool k) { return amin(x, d, k); }, ref_min,
                            numeric_dtypes(), false));
  {
    // max(x) / min(x) over all elements.
    OpRow r;
    r.name = "max_all";
    r.covers = {"max", "min"};
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.samples = [] {
      std::vector<Sample> s;
      for (auto& inputs : unary_inputs()) {
        if (numel_of(inputs[0].shape) == 0) continue;
        s.push_back(sample(inputs, [](const std::vector<Tensor>& v) { return max(v[0]); },
                           [](const std::vector<Ref>& v) { return reduce_ref(v[0], {}, false, ref_max); }, "max"));
        s.push_back(sample(inputs, [](const std::vector<Tensor>& v) { return min(v[0]); },
                           [](const std::vector<Ref>& v) { return reduce_ref(v[0], {}, false, ref_min); }, "min"));
      }
      return s;
    };
    r.errors = {error("empty", [] { max(zeros({0})); }, ErrorKind::Value, {"amax", "size 0"})};
    rows.push_back(r);
  }
  // max/min over one dim: values and indices.
  for (bool is_max : {true, false}) {
    OpRow r;
    r.name = is_max ? "max_dim" : "min_dim";
    r.covers = {is_max ? "max" : "min"};
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.samples = [is_max] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, bool>> cases = {
          {in({4, 7}), 1, false}, {in({4, 7}), 0, true}, {in({2, 3, 5}), -2, false}, {in({3, 6}, kT), 0, false},
          {in({5, 6}, kE), 1, true}, {in({9}), 0, false}, {in({}), 0, false},     {in({0, 3}), 1, false}};
      for (const auto& [input, dim, keep] : cases) {
        Sample smp;
        smp.inputs = {input};
        smp.name = describe_inputs(smp.inputs, "dim" + std::to_string(dim) + (keep ? "_keepdim" : ""));
        const int64_t d = dim;
        const bool k = keep;
        smp.fn = [is_max, d, k](const std::vector<Tensor>& v) {
          ValuesIndices r = is_max ? max(v[0], d, k) : min(v[0], d, k);
          return std::vector<Tensor>{r.values, r.indices};
        };
        smp.ref = [is_max, d, k](const std::vector<Ref>& v) {
          const Shape dims = v[0].shape.empty() ? Shape{} : Shape{d};
          Ref values = reduce_ref(v[0], dims, k, is_max ? ref_max : ref_min);
          Ref idx = reduce_ref(v[0], dims, k, is_max ? ref_argmax : ref_argmin);
          idx.dtype = kInt64;
          return std::vector<Ref>{values, idx};
        };
        s.push_back(smp);
      }
      return s;
    };
    rows.push_back(r);
  }
  for (bool is_max : {true, false}) {
    OpRow r;
    r.name = is_max ? "argmax" : "argmin";
    r.dtypes = numeric_dtypes();
    r.out_dtype = int64_dtype;
    r.samples = [is_max] {
      std::vector<Sample> s;
      auto f = is_max ? ref_argmax : ref_argmin;
      const std::vector<std::tuple<SampleInput, std::optional<int64_t>, bool>> cases = {
          {in({4, 7}), 1, false}, {in({4, 7}), 0, true},      {in({2, 3, 5}), std::nullopt, false},
          {in({2, 3}), std::nullopt, true}, {in({3, 6}, kT), -1, false}, {in({}), std::nullopt, false},
          {in({1, 1, 5}), 2, false}, {in({3, 40000}), 1, false}};
      for (const auto& [input, dim, keep] : cases) {
        const auto d = dim;
        const bool k = keep;
        std::string tag = d ? "dim" + std::to_string(*d) : std::string("flat");
        if (k) tag += "_keepdim";
        s.push_back(sample({input},
                           [is_max, d, k](const std::vector<Tensor>& v) { return is_max ? argmax(v[0], d, k) : argmin(v[0], d, k); },
                           [f, d, k](const std::vector<Ref>& v) {
                             if (d) return reduce_ref(v[0], v[0].shape.empty() ? Shape{} : Shape{*d}, k, f);
                             Ref flat{{numel_of(v[0].shape)}, v[0].v, std::nullopt};
                             Ref r = reduce_ref(flat, {0}, false, f);
                             if (k) r.shape = Shape(v[0].shape.size(), 1);
                             return r;
                           },
                           tag));
      }
      return s;
    };
    r.errors = {error("empty", [is_max] { is_max ? argmax(zeros({0, 2})) : argmin(zeros({0, 2})); }, ErrorKind::Value,
                      {is_max ? "argmax" : "argmin", "[0, 2]"})};
    rows.push_back(r);
  }
  for (bool is_std : {false, true}) {
    OpRow r;
    r.name = is_std ? "std" : "var";
    r.dtypes = floating_dtypes();
    r.grad = grad_on();
    r.tolerances = {{kFloat16, {1e-2, 1e-2}}, {kBFloat16, {5e-2, 5e-2}}, {kFloat32, {1e-5, 1e-5}}};
    r.samples = [is_std] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, Shape, int64_t, bool>> cases = {
          {in({4, 7}), {}, 1, false},  {in({4, 7}), {1}, 0, false},     {in({2, 3, 5}), {0, 2}, 1, true},
          {in({3, 6}, kT), {1}, 1, false}, {in({2, 3, 4}, kS), {-1}, 1, false}, {in({300, 257}), {1}, 1, false}};
      for (const auto& [input, dims, corr, keep] : cases) {
        const Shape d = dims;
        const int64_t c = corr;
        const bool k = keep;
        s.push_back(sample({input},
                           [is_std, d, c, k](const std::vector<Tensor>& v) { return is_std ? kiln::std(v[0], d, c, k) : var(v[0], d, c, k); },
                           [is_std, d, c, k](const std::vector<Ref>& v) {
                             return reduce_ref(v[0], d, k, [is_std, c](const std::vector<double>& g) {
                               const double var = ref_var(g, c);
                               return is_std ? std::sqrt(var) : var;
                             });
                           },
                           shape_tag(d, k) + "_corr" + std::to_string(c)));
      }
      return s;
    };
    r.errors = {error("integer_input", [is_std] { is_std ? kiln::std(zeros({3}, kInt32)) : var(zeros({3}, kInt32)); },
                      ErrorKind::DType, {is_std ? "std" : "var", "int32"}),
                // Errors name the function called (std is computed through var's code).
                error("dim_out_of_range", [is_std] { is_std ? kiln::std(zeros({2, 3}), {2}) : var(zeros({2, 3}), {2}); },
                      ErrorKind::Index, {is_std ? "std:" : "var:", "dim 2"})};
    rows.push_back(r);
  }
  {
    OpRow r = reduce_row("logsumexp", [](const Tensor& x, const Shape& d, bool k) { return logsumexp(x, d, k); },
                         ref_lse, floating_dtypes(), /*allow_empty=*/true);
    r.tolerances = {{kFloat16, {4e-3, 4e-3}}, {kBFloat16, {3e-2, 3e-2}}};
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      // Large values: the naive formula overflows.
      s.push_back(sample({in_domain({2, 3}, Domain::Large)},
                         [](const std::vector<Tensor>& v) { return logsumexp(v[0], {1}); },
                         [](const std::vector<Ref>& v) { return reduce_ref(v[0], {1}, false, ref_lse); },
                         "large_values"));
      // Reducing nothing gives log(0) = -inf, as in PyTorch.
      s.push_back(sample({in({0})}, [](const std::vector<Tensor>& v) { return logsumexp(v[0], {}); },
                         [](const std::vector<Ref>& v) { return reduce_ref(v[0], {}, false, ref_lse); }, "empty_all"));
      return s;
    };
    rows.push_back(r);
  }
  for (bool is_log : {false, true}) {
    OpRow r;
    r.name = is_log ? "log_softmax" : "softmax";
    r.dtypes = floating_dtypes();
    r.grad = grad_on();
    r.tolerances = {{kFloat16, {4e-3, 4e-3}}, {kBFloat16, {3e-2, 3e-2}}};
    r.samples = [is_log] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, int64_t>> cases = {
          {in({4, 7}), 1},  {in({4, 7}), 0},        {in({2, 3, 5}), 1}, {in({3, 6}, kT), -1},
          {in({5, 6}, kE), 0}, {in({}), 0},         {in({1, 1, 5}), -1}, {in({0, 4}), 1},
          {in({64, 1025}), 1}};
      for (const auto& [input, dim] : cases) {
        const int64_t d = dim;
        s.push_back(sample({input},
                           [is_log, d](const std::vector<Tensor>& v) { return is_log ? log_softmax(v[0], d) : softmax(v[0], d); },
                           [is_log, d](const std::vector<Ref>& v) {
                             const Ref& x = v[0];
                             Ref out{x.shape, x.v, std::nullopt};
                             if (x.shape.empty()) {
                               out.v = {is_log ? 0.0 : 1.0};
                               return out;
                             }
                             const int64_t dd = d < 0 ? d + static_cast<int64_t>(x.shape.size()) : d;
                             Ref lse = reduce_ref(x, {dd}, true, ref_lse);
                             for (int64_t i = 0; i < numel_of(x.shape); ++i) {
                               auto idx = unravel(i, x.shape);
                               const double l = at_broadcast(lse, idx);
                               out.v[i] = is_log ? x.v[i] - l : std::exp(x.v[i] - l);
                             }
                             return out;
                           },
                           "dim" + std::to_string(d)));
      }
      s.push_back(sample({in_domain({2, 3}, Domain::Large)},
                         [is_log](const std::vector<Tensor>& v) { return is_log ? log_softmax(v[0], 1) : softmax(v[0], 1); },
                         [is_log](const std::vector<Ref>& v) {
                           const Ref& x = v[0];
                           Ref lse = reduce_ref(x, {1}, true, ref_lse);
                           Ref out = x;
                           for (int64_t i = 0; i < numel_of(x.shape); ++i) {
                             const double l = at_broadcast(lse, unravel(i, x.shape));
                             out.v[i] = is_log ? x.v[i] - l : std::exp(x.v[i] - l);
                           }
                           return out;
                         },
                         "large_values"));
      // Reducing nothing gives log(0) = -inf, as in PyTorch.
      s.push_back(sample({in({0})}, [](const std::vector<Tensor>& v) { return logsumexp(v[0], {}); },
                         [](const std::vector<Ref>& v) { return reduce_ref(v[0], {}, false, ref_lse); }, "empty_all"));
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
