// Rows for the reductions of include/kiln/ops/reduce.h (softmax: rows_softmax.cpp).
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
  row.fn = one_output(
      [f](const std::vector<Tensor>& v, const Attrs& a) { return f(v[0], a.shape("dims"), a.b("keepdim")); });
  row.ref = one_ref(
      [r](const std::vector<Ref>& v, const Attrs& a) { return reduce_ref(v[0], a.shape("dims"), a.b("keepdim"), r); });
  row.samples = [allow_empty] {
    std::vector<Sample> out;
    for (const DimCase& c : dim_cases(allow_empty))
      out.push_back(sample({c.input}, Attrs().shape("dims", c.dims).b("keepdim", c.keepdim), shape_tag(c.dims, c.keepdim)));
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
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return a.b("max") ? max(v[0]) : min(v[0]); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      return reduce_ref(v[0], {}, false, a.b("max") ? ref_max : ref_min);
    });
    r.samples = [] {
      std::vector<Sample> s;
      for (auto& inputs : unary_inputs()) {
        if (numel_of(inputs[0].shape) == 0) continue;
        s.push_back(sample(inputs, Attrs().b("max", true), "max"));
        s.push_back(sample(inputs, Attrs().b("max", false), "min"));
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
    r.fn = [is_max](const std::vector<Tensor>& v, const Attrs& a) {
      const int64_t d = a.i("dim");
      const bool k = a.b("keepdim");
      auto [values, indices] = is_max ? max(v[0], d, k) : min(v[0], d, k);
      return std::vector<Tensor>{values, indices};
    };
    r.ref = [is_max](const std::vector<Ref>& v, const Attrs& a) {
      const Shape dims = v[0].shape.empty() ? Shape{} : Shape{a.i("dim")};
      const bool k = a.b("keepdim");
      Ref values = reduce_ref(v[0], dims, k, is_max ? ref_max : ref_min);
      Ref idx = reduce_ref(v[0], dims, k, is_max ? ref_argmax : ref_argmin);
      idx.dtype = kInt64;
      return std::vector<Ref>{values, idx};
    };
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, bool>> cases = {
          {in({4, 7}), 1, false}, {in({4, 7}), 0, true}, {in({2, 3, 5}), -2, false}, {in({3, 6}, kT), 0, false},
          {in({5, 6}, kE), 1, true}, {in({9}), 0, false}, {in({}), 0, false},     {in({0, 3}), 1, false}};
      for (const auto& [input, dim, keep] : cases)
        s.push_back(sample({input}, Attrs().i("dim", dim).b("keepdim", keep),
                           "dim" + std::to_string(dim) + (keep ? "_keepdim" : "")));
      return s;
    };
    rows.push_back(r);
  }
  for (bool is_max : {true, false}) {
    OpRow r;
    r.name = is_max ? "argmax" : "argmin";
    r.dtypes = numeric_dtypes();
    r.out_dtype = int64_dtype;
    // Attribute dim (absent: over the flattened input) and keepdim.
    r.fn = one_output([is_max](const std::vector<Tensor>& v, const Attrs& a) {
      return is_max ? argmax(v[0], a.opt_i("dim"), a.b("keepdim")) : argmin(v[0], a.opt_i("dim"), a.b("keepdim"));
    });
    r.ref = one_ref([is_max](const std::vector<Ref>& v, const Attrs& a) {
      auto f = is_max ? ref_argmax : ref_argmin;
      const bool k = a.b("keepdim");
      if (a.has("dim")) return reduce_ref(v[0], v[0].shape.empty() ? Shape{} : Shape{a.i("dim")}, k, f);
      Ref flat{{numel_of(v[0].shape)}, v[0].v, std::nullopt};
      Ref r = reduce_ref(flat, {0}, false, f);
      if (k) r.shape = Shape(v[0].shape.size(), 1);
      return r;
    });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, std::optional<int64_t>, bool>> cases = {
          {in({4, 7}), 1, false}, {in({4, 7}), 0, true},      {in({2, 3, 5}), std::nullopt, false},
          {in({2, 3}), std::nullopt, true}, {in({3, 6}, kT), -1, false}, {in({}), std::nullopt, false},
          {in({1, 1, 5}), 2, false}, {in({3, 40000}), 1, false}};
      for (const auto& [input, dim, keep] : cases) {
        std::string tag = dim ? "dim" + std::to_string(*dim) : std::string("flat");
        if (keep) tag += "_keepdim";
        Attrs a = Attrs().b("keepdim", keep);
        if (dim) a.i("dim", *dim);
        s.push_back(sample({input}, a, tag));
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
    r.fn = one_output([is_std](const std::vector<Tensor>& v, const Attrs& a) {
      const Shape& d = a.shape("dims");
      return is_std ? kiln::std(v[0], d, a.i("correction"), a.b("keepdim")) : var(v[0], d, a.i("correction"), a.b("keepdim"));
    });
    r.ref = one_ref([is_std](const std::vector<Ref>& v, const Attrs& a) {
      const int64_t c = a.i("correction");
      return reduce_ref(v[0], a.shape("dims"), a.b("keepdim"), [is_std, c](const std::vector<double>& g) {
        const double var = ref_var(g, c);
        return is_std ? std::sqrt(var) : var;
      });
    });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, Shape, int64_t, bool>> cases = {
          {in({4, 7}), {}, 1, false},  {in({4, 7}), {1}, 0, false},     {in({2, 3, 5}), {0, 2}, 1, true},
          {in({3, 6}, kT), {1}, 1, false}, {in({2, 3, 4}, kS), {-1}, 1, false}, {in({300, 257}), {1}, 1, false}};
      for (const auto& [input, dims, corr, keep] : cases)
        s.push_back(sample({input}, Attrs().shape("dims", dims).i("correction", corr).b("keepdim", keep),
                           shape_tag(dims, keep) + "_corr" + std::to_string(corr)));
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
      s.push_back(sample({in_domain({2, 3}, Domain::Large)}, Attrs().shape("dims", {1}), "large_values"));
      // Reducing nothing gives log(0) = -inf, as in PyTorch.
      s.push_back(sample({in({0})}, Attrs().shape("dims", {}), "empty_all"));
      return s;
    };
    rows.push_back(r);
  }
  {
    // norm(x, p, dims, keepdim): p = 2, 1, 3 and inf over the dim cases (no
    // empty reductions: the inf-norm of nothing has no value).
    OpRow r;
    r.name = "norm";
    r.dtypes = floating_dtypes();
    r.grad = grad_on();
    r.tolerances = {{kFloat16, {4e-3, 4e-3}}, {kBFloat16, {3e-2, 3e-2}}};
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      return norm(v[0], a.d("p"), a.shape("dims"), a.b("keepdim"));
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const double p = a.d("p");
      return reduce_ref(v[0], a.shape("dims"), a.b("keepdim"), [p](const std::vector<double>& g) {
        double acc = 0;
        for (double x : g) acc = std::isinf(p) ? std::max(acc, std::abs(x)) : acc + std::pow(std::abs(x), p);
        return std::isinf(p) ? acc : std::pow(acc, 1.0 / p);
      });
    });
    r.samples = [] {
      std::vector<Sample> s;
      const double inf = std::numeric_limits<double>::infinity();
      for (double p : {2.0, 1.0, 3.0, inf}) {
        const std::string ptag = std::isinf(p) ? "pinf" : "p" + std::to_string(static_cast<int>(p));
        for (const DimCase& c : dim_cases(false)) {
          if (p != 2 && numel_of(c.input.shape) > 1000) continue;  // the large cases once, for p = 2
          s.push_back(sample({c.input}, Attrs().d("p", p).shape("dims", c.dims).b("keepdim", c.keepdim),
                             ptag + "_" + shape_tag(c.dims, c.keepdim)));
        }
      }
      return s;
    };
    r.errors = {error("integer_input", [] { norm(zeros({2}, kInt64)); }, ErrorKind::DType, {"norm", "int64"}),
                error("nan_p", [] { norm(zeros({2}), std::nan("")); }, ErrorKind::Value, {"norm", "nan"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
