// Rows for the elementwise ops of include/kiln/ops/math.h.
#include <cmath>
#include <limits>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

using UnaryKiln = std::function<Tensor(const Tensor&)>;
using UnaryRef = std::function<double(double)>;
using BinaryKiln = std::function<Tensor(const Tensor&, const Tensor&)>;
using BinaryRef = std::function<double(double, double)>;

OpRow unary_row(const std::string& name, UnaryKiln f, UnaryRef r, std::vector<DType> dtypes, Domain domain,
                std::function<DType(DType)> out_dtype = same_dtype, bool differentiable = true) {
  OpRow row;
  row.name = name;
  row.dtypes = std::move(dtypes);
  row.domain = domain;
  row.out_dtype = std::move(out_dtype);
  if (differentiable) row.grad = grad_on();
  row.fn = one_output([f](const std::vector<Tensor>& v, const Attrs&) { return f(v[0]); });
  row.ref = one_ref([r](const std::vector<Ref>& v, const Attrs&) { return map1(v[0], r); });
  row.samples = [] {
    std::vector<Sample> out;
    for (auto& inputs : unary_inputs()) out.push_back(sample(inputs));
    return out;
  };
  return row;
}

OpRow binary_row(const std::string& name, BinaryKiln f, BinaryRef r, std::vector<DType> dtypes, Domain domain,
                 std::function<DType(DType)> out_dtype = same_dtype, bool differentiable = true) {
  OpRow row;
  row.name = name;
  row.dtypes = std::move(dtypes);
  row.domain = domain;
  row.out_dtype = std::move(out_dtype);
  if (differentiable) row.grad = grad_on();
  // "self": both operands are the first input (every element ties).
  row.fn = one_output([f](const std::vector<Tensor>& v, const Attrs& a) { return f(v[0], a.b("self") ? v[0] : v[1]); });
  row.ref = one_ref([r](const std::vector<Ref>& v, const Attrs& a) { return map2(v[0], a.b("self") ? v[0] : v[1], r); });
  row.samples = [] {
    std::vector<Sample> out;
    for (auto& inputs : binary_inputs()) out.push_back(sample(inputs));
    return out;
  };
  return row;
}

double sigmoid_ref(double x) { return 1 / (1 + std::exp(-x)); }
double gelu_erf_ref(double x) { return 0.5 * x * (1 + std::erf(x / std::sqrt(2.0))); }
double gelu_tanh_ref(double x) {
  return 0.5 * x * (1 + std::tanh(std::sqrt(2 / M_PI) * (x + 0.044715 * x * x * x)));
}

std::vector<OpRow> arithmetic_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r = binary_row("add", [](const Tensor& a, const Tensor& b) { return add(a, b); },
                         [](double a, double b) { return a + b; }, numeric_dtypes(), Domain::Any);
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      return a.has("alpha") ? add(v[0], v[1], a.i("alpha")) : add(v[0], v[1]);
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const double alpha = a.has("alpha") ? a.d("alpha") : 1.0;
      return map2(v[0], v[1], [alpha](double x, double y) { return x + alpha * y; });
    });
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      s.push_back(sample({in({3, 4}), in({4})}, Attrs().i("alpha", 3), "alpha3"));
      return s;
    };
    r.errors = {
        error("broadcast_mismatch", [] { add(zeros({2, 3}), zeros({4})); }, ErrorKind::Shape, {"add", "[2, 3]", "[4]"}),
        error("undefined_input", [] { add(Tensor(), zeros({2})); }, ErrorKind::Value, {"add", "undefined"}),
    };
    rows.push_back(r);
  }
  {
    OpRow r = binary_row("sub", [](const Tensor& a, const Tensor& b) { return sub(a, b); },
                         [](double a, double b) { return a - b; }, numeric_dtypes(), Domain::Any);
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      return a.has("alpha") ? sub(v[0], v[1], a.i("alpha")) : sub(v[0], v[1]);
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const double alpha = a.has("alpha") ? a.d("alpha") : 1.0;
      return map2(v[0], v[1], [alpha](double x, double y) { return x - alpha * y; });
    });
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      s.push_back(sample({in({3, 4}), in({4})}, Attrs().i("alpha", 2), "alpha2"));
      return s;
    };
    r.errors = {error("bool_operands", [] { sub(ones({2}, kBool), ones({2}, kBool)); }, ErrorKind::DType, {"sub", "bool"}),
                // One bool operand is refused too, as in PyTorch.
                error("bool_minus_float", [] { sub(ones({2}, kBool), ones({2})); }, ErrorKind::DType,
                      {"sub", "Subtraction, the `-` operator, with a bool tensor is not supported"}),
                error("int_minus_bool", [] { ones({2}, kInt64) - ones({2}, kBool); }, ErrorKind::DType,
                      {"sub", "with a bool tensor is not supported"}),
                error("scalar_minus_bool", [] { 1.0 - ones({2}, kBool); }, ErrorKind::DType,
                      {"sub", "with a bool tensor is not supported"})};
    rows.push_back(r);
  }
  rows.push_back(binary_row("mul", [](const Tensor& a, const Tensor& b) { return mul(a, b); },
                            [](double a, double b) { return a * b; }, numeric_dtypes(), Domain::Any));
  {
    OpRow r = binary_row("div", [](const Tensor& a, const Tensor& b) { return div(a, b); },
                         [](double a, double b) { return a / b; }, numeric_dtypes(), Domain::NonZero, float_or_same);
    rows.push_back(r);
  }
  {
    // pow(tensor, tensor) on a positive base; pow(tensor, scalar); pow(scalar, tensor).
    OpRow r = binary_row("pow", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
                         [](double a, double b) { return std::pow(a, b); }, floating_dtypes(), Domain::Positive);
    // Attributes: exponent (a double scalar), int_exponent (an integer
    // scalar) or base (a scalar base); none: pow(tensor, tensor).
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      if (a.has("exponent")) return pow(v[0], a.d("exponent"));
      if (a.has("int_exponent")) return pow(v[0], a.i("int_exponent"));
      if (a.has("base")) return pow(a.d("base"), v[0]);
      return pow(v[0], v[1]);
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      if (a.has("exponent") || a.has("int_exponent")) {
        const double e = a.d(a.has("exponent") ? "exponent" : "int_exponent");
        return map1(v[0], [e](double x) { return std::pow(x, e); });
      }
      if (a.has("base")) {
        const double b = a.d("base");
        return map1(v[0], [b](double x) { return std::pow(b, x); });
      }
      return map2(v[0], v[1], [](double x, double y) { return std::pow(x, y); });
    });
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      for (double e : {2.0, 3.0, 0.5, -1.5, 0.0, 1.0})
        s.push_back(sample({in({4, 5})}, Attrs().d("exponent", e), "scalar_exp" + std::to_string(static_cast<int>(e * 10))));
      s.push_back(sample({in({3, 4}, kT)}, Attrs().i("int_exponent", 2), "scalar_int_exp2"));
      s.push_back(sample({in_domain({3, 4}, Domain::Unit)}, Attrs().d("base", 2.5), "scalar_base"));
      return s;
    };
    r.covers = {"pow"};
    r.tolerances = {{kFloat16, {4e-3, 4e-3}}, {kBFloat16, {3e-2, 3e-2}}};
    r.errors = {error("int_negative_exponent", [] { pow(ones({2}, kInt64), -1); }, ErrorKind::Value,
                      {"pow", "negative", "int64"})};
    rows.push_back(r);
  }
  {
    OpRow r = binary_row("pow_int", [](const Tensor& a, const Tensor& b) { return pow(a, b); },
                         [](double a, double b) { return std::pow(a, b); }, {kInt32, kInt64}, Domain::Positive, same_dtype,
                         false);
    r.covers = {"pow"};
    // The exponents are a fixed int64 input cast to the base's dtype, or an integer scalar.
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      if (a.has("int_exponent")) return pow(v[0], a.i("int_exponent"));
      return pow(v[0], v[1].to(v[0].dtype()));
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      if (a.has("int_exponent")) {
        const double e = a.d("int_exponent");
        return map1(v[0], [e](double x) { return std::pow(x, e); });
      }
      return map2(v[0], v[1], [](double x, double y) { return std::pow(x, y); });
    });
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(sample({in({3, 4}), fixed({4}, {0, 1, 2, 3})}, "int_exponents"));
      s.push_back(sample({in({5})}, Attrs().i("int_exponent", 3), "cube"));
      return s;
    };
    rows.push_back(r);
  }
  rows.push_back(binary_row("maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); },
                            [](double a, double b) { return std::max(a, b); }, numeric_dtypes(), Domain::Any));
  rows.push_back(binary_row("minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); },
                            [](double a, double b) { return std::min(a, b); }, numeric_dtypes(), Domain::Any));
  return rows;
}

std::vector<OpRow> unary_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r = unary_row("neg", [](const Tensor& x) { return neg(x); }, [](double x) { return -x; }, numeric_dtypes(),
                        Domain::Any);
    r.errors = {error("bool", [] { neg(ones({2}, kBool)); }, ErrorKind::DType, {"neg", "bool"})};
    rows.push_back(r);
  }
  rows.push_back(unary_row("abs", [](const Tensor& x) { return abs(x); }, [](double x) { return std::abs(x); },
                           numeric_dtypes(), Domain::NonZero));
  rows.push_back(unary_row("exp", [](const Tensor& x) { return exp(x); }, [](double x) { return std::exp(x); },
                           numeric_dtypes(), Domain::Any, float_or_same));
  rows.push_back(unary_row("log", [](const Tensor& x) { return log(x); }, [](double x) { return std::log(x); },
                           numeric_dtypes(), Domain::Positive, float_or_same));
  rows.push_back(unary_row("sqrt", [](const Tensor& x) { return sqrt(x); }, [](double x) { return std::sqrt(x); },
                           numeric_dtypes(), Domain::Positive, float_or_same));
  rows.push_back(unary_row("rsqrt", [](const Tensor& x) { return rsqrt(x); },
                           [](double x) { return 1 / std::sqrt(x); }, numeric_dtypes(), Domain::Positive, float_or_same));
  rows.push_back(unary_row("tanh", [](const Tensor& x) { return tanh(x); }, [](double x) { return std::tanh(x); },
                           floating_dtypes(), Domain::Any));
  rows.push_back(unary_row("sigmoid", [](const Tensor& x) { return sigmoid(x); }, sigmoid_ref, floating_dtypes(),
                           Domain::Any));
  {
    OpRow r = unary_row("relu", [](const Tensor& x) { return relu(x); }, [](double x) { return x > 0 ? x : 0; },
                        numeric_dtypes(), Domain::NonZero);
    rows.push_back(r);
  }
  {
    OpRow r = unary_row("gelu", [](const Tensor& x) { return gelu(x); }, gelu_erf_ref, floating_dtypes(), Domain::Any);
    r.errors = {error("bad_approximate", [] { gelu(zeros({2}), "fast"); }, ErrorKind::Value, {"gelu", "fast"})};
    rows.push_back(r);
  }
  {
    OpRow r = unary_row("gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }, gelu_tanh_ref,
                        floating_dtypes(), Domain::Any);
    r.covers = {"gelu"};
    rows.push_back(r);
  }
  rows.push_back(unary_row("sin", [](const Tensor& x) { return sin(x); }, [](double x) { return std::sin(x); },
                           floating_dtypes(), Domain::Any));
  rows.push_back(unary_row("cos", [](const Tensor& x) { return cos(x); }, [](double x) { return std::cos(x); },
                           floating_dtypes(), Domain::Any));
  rows.push_back(unary_row("silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); },
                           floating_dtypes(), Domain::Any));
  {
    OpRow r;
    r.name = "clamp";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    // Attributes min and/or max (doubles; an integer bound stays an integer scalar).
    auto bound = [](const Attrs& a, const char* key) -> std::optional<Scalar> {
      if (!a.has(key)) return std::nullopt;
      if (a.has(std::string(key) + "_int")) return Scalar(a.i(key));
      return Scalar(a.d(key));
    };
    r.fn = one_output([bound](const std::vector<Tensor>& v, const Attrs& a) {
      return clamp(v[0], bound(a, "min"), bound(a, "max"));
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const double inf = std::numeric_limits<double>::infinity();
      const double lo = a.opt_d("min").value_or(-inf), hi = a.opt_d("max").value_or(inf);
      return map1(v[0], [lo, hi](double x) { return std::min(std::max(x, lo), hi); });
    });
    r.samples = [] {
      std::vector<Sample> s;
      for (auto& inputs : unary_inputs()) s.push_back(sample(inputs, Attrs().d("min", -0.5).i("max", 1).b("max_int", true)));
      s.push_back(sample({in({4, 5})}, Attrs().d("min", 0.25), "min_only"));
      s.push_back(sample({in({4, 5})}, Attrs().d("max", -1.5), "max_only"));
      return s;
    };
    // Integer inputs with a fractional bound promote to float32.
    r.skips = {};
    r.out_dtype = [](DType t) { return is_floating(t) ? t : kFloat32; };
    r.errors = {error("no_bounds", [] { clamp(zeros({2}), std::nullopt, std::nullopt); }, ErrorKind::Value,
                      {"clamp", "min", "max"})};
    rows.push_back(r);
  }
  return rows;
}

std::vector<OpRow> selection_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "where";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) { return where(v[0], v[1], v[2]); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs&) {
      return map3(v[0], v[1], v[2], [](double c, double a, double b) { return c != 0 ? a : b; });
    });
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(sample({fixed({2, 3}, {1, 0, 1, 1, 0, 0}, kBool), in({2, 3}), in({2, 3})}));
      s.push_back(sample({fixed({3}, {0, 1, 1}, kBool), in({4, 3}, kT), in({4, 1})}));
      s.push_back(sample({fixed({4, 1}, {1, 0, 0, 1}, kBool), in({}), in({4, 5}, kS)}));
      s.push_back(sample({fixed({0, 2}, {}, kBool), in({2}), in({2})}));
      return s;
    };
    r.errors = {error("non_bool_condition", [] { where(zeros({2}), zeros({2}), zeros({2})); }, ErrorKind::DType,
                      {"where", "bool", "float32"}),
                error("broadcast_mismatch", [] { where(ones({2}, kBool), zeros({3}), zeros({3})); }, ErrorKind::Shape,
                      {"where", "[2]", "[3]"})};
    rows.push_back(r);
  }
  const std::vector<std::tuple<std::string, BinaryKiln, BinaryRef>> comparisons = {
      {"eq", [](const Tensor& a, const Tensor& b) { return eq(a, b); }, [](double a, double b) { return double(a == b); }},
      {"ne", [](const Tensor& a, const Tensor& b) { return ne(a, b); }, [](double a, double b) { return double(a != b); }},
      {"lt", [](const Tensor& a, const Tensor& b) { return lt(a, b); }, [](double a, double b) { return double(a < b); }},
      {"le", [](const Tensor& a, const Tensor& b) { return le(a, b); }, [](double a, double b) { return double(a <= b); }},
      {"gt", [](const Tensor& a, const Tensor& b) { return gt(a, b); }, [](double a, double b) { return double(a > b); }},
      {"ge", [](const Tensor& a, const Tensor& b) { return ge(a, b); }, [](double a, double b) { return double(a >= b); }},
  };
  for (const auto& [name, f, ref] : comparisons) {
    OpRow r = binary_row(name, f, ref, numeric_dtypes(), Domain::Any, bool_dtype, false);
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      // Against itself: every element ties, which random values never do.
      s.push_back(sample({in({3, 4})}, Attrs().b("self", true), "self"));
      return s;
    };
    rows.push_back(r);
  }
  return rows;
}

}  // namespace

std::vector<OpRow> elementwise_rows() {
  std::vector<OpRow> rows;
  for (auto* family : {arithmetic_rows, unary_rows, selection_rows})
    for (OpRow& r : family()) rows.push_back(std::move(r));
  return rows;
}

}  // namespace kiln::testing
