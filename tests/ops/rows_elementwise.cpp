// Rows for the elementwise ops of include/kiln/ops/math.h.
#include <cmath>

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
  row.samples = [f, r] {
    std::vector<Sample> out;
    for (auto& inputs : unary_inputs())
      out.push_back(sample(inputs, [f](const std::vector<Tensor>& v) { return f(v[0]); },
                           [r](const std::vector<Ref>& v) { return map1(v[0], r); }));
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
  row.samples = [f, r] {
    std::vector<Sample> out;
    for (auto& inputs : binary_inputs())
      out.push_back(sample(inputs, [f](const std::vector<Tensor>& v) { return f(v[0], v[1]); },
                           [r](const std::vector<Ref>& v) { return map2(v[0], v[1], r); }));
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
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      s.push_back(sample({in({3, 4}), in({4})}, [](const std::vector<Tensor>& v) { return add(v[0], v[1], 3); },
                         [](const std::vector<Ref>& v) { return map2(v[0], v[1], [](double a, double b) { return a + 3 * b; }); },
                         "alpha3"));
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
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      s.push_back(sample({in({3, 4}), in({4})}, [](const std::vector<Tensor>& v) { return sub(v[0], v[1], 2); },
                         [](const std::vector<Ref>& v) { return map2(v[0], v[1], [](double a, double b) { return a - 2 * b; }); },
                         "alpha2"));
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
    auto base = r.samples;
    r.samples = [base] {
      auto s = base();
      for (double e : {2.0, 3.0, 0.5, -1.5, 0.0, 1.0}) {
        s.push_back(sample({in({4, 5})}, [e](const std::vector<Tensor>& v) { return pow(v[0], e); },
                           [e](const std::vector<Ref>& v) { return map1(v[0], [e](double x) { return std::pow(x, e); }); },
                           "scalar_exp" + std::to_string(static_cast<int>(e * 10))));
      }
      s.push_back(sample({in({3, 4}, kT)}, [](const std::vector<Tensor>& v) { return pow(v[0], 2); },
                         [](const std::vector<Ref>& v) { return map1(v[0], [](double x) { return x * x; }); },
                         "scalar_int_exp2"));
      s.push_back(sample({in_domain({3, 4}, Domain::Unit)}, [](const std::vector<Tensor>& v) { return pow(2.5, v[0]); },
                         [](const std::vector<Ref>& v) { return map1(v[0], [](double x) { return std::pow(2.5, x); }); },
                         "scalar_base"));
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
    auto base = r.samples;
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(sample({in({3, 4}), fixed({4}, {0, 1, 2, 3})},
                         [](const std::vector<Tensor>& v) { return pow(v[0], v[1].to(v[0].dtype())); },
                         [](const std::vector<Ref>& v) { return map2(v[0], v[1], [](double a, double b) { return std::pow(a, b); }); },
                         "int_exponents"));
      s.push_back(sample({in({5})}, [](const std::vector<Tensor>& v) { return pow(v[0], 3); },
                         [](const std::vector<Ref>& v) { return map1(v[0], [](double a) { return a * a * a; }); }, "cube"));
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
  rows.push_back(unary_row("silu", [](const Tensor& x) { return silu(x); }, [](double x) { return x * sigmoid_ref(x); },
                           floating_dtypes(), Domain::Any));
  {
    OpRow r;
    r.name = "clamp";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.samples = [] {
      std::vector<Sample> s;
      for (auto& inputs : unary_inputs()) {
        s.push_back(sample(inputs, [](const std::vector<Tensor>& v) { return clamp(v[0], -0.5, 1); },
                           [](const std::vector<Ref>& v) {
                             return map1(v[0], [](double x) { return std::min(std::max(x, -0.5), 1.0); });
                           }));
      }
      s.push_back(sample({in({4, 5})}, [](const std::vector<Tensor>& v) { return clamp(v[0], 0.25, std::nullopt); },
                         [](const std::vector<Ref>& v) { return map1(v[0], [](double x) { return std::max(x, 0.25); }); },
                         "min_only"));
      s.push_back(sample({in({4, 5})}, [](const std::vector<Tensor>& v) { return clamp(v[0], std::nullopt, -1.5); },
                         [](const std::vector<Ref>& v) { return map1(v[0], [](double x) { return std::min(x, -1.5); }); },
                         "max_only"));
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
    r.samples = [] {
      std::vector<Sample> s;
      auto fn = [](const std::vector<Tensor>& v) { return where(v[0], v[1], v[2]); };
      auto ref = [](const std::vector<Ref>& v) {
        return map3(v[0], v[1], v[2], [](double c, double a, double b) { return c != 0 ? a : b; });
      };
      s.push_back(sample({fixed({2, 3}, {1, 0, 1, 1, 0, 0}, kBool), in({2, 3}), in({2, 3})}, fn, ref));
      s.push_back(sample({fixed({3}, {0, 1, 1}, kBool), in({4, 3}, kT), in({4, 1})}, fn, ref));
      s.push_back(sample({fixed({4, 1}, {1, 0, 0, 1}, kBool), in({}), in({4, 5}, kS)}, fn, ref));
      s.push_back(sample({fixed({0, 2}, {}, kBool), in({2}), in({2})}, fn, ref));
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
    auto fk = f;
    auto rf = ref;
    r.samples = [base, fk, rf] {
      auto s = base();
      // Against itself: every element ties, which random values never do.
      s.push_back(sample({in({3, 4})}, [fk](const std::vector<Tensor>& v) { return fk(v[0], v[0]); },
                         [rf](const std::vector<Ref>& v) { return map2(v[0], v[0], rf); }, "self"));
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
