// Rows for the deterministic factories of include/kiln/ops/factory.h. Each
// sample's one input is a 0-dim "carrier" whose dtype and device are the
// ones under test; the factory is called with carrier.options(). A sample's
// attributes are the call's arguments and the values it must give
// ("expected", shaped "expected_shape"). Random factories are tested in
// tests/core/random_test.cpp.
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// The expected values of a sample: attributes "expected" and "expected_shape".
RefFn expected_values() {
  return one_ref([](const std::vector<Ref>&, const Attrs& a) {
    return Ref{a.shape("expected_shape"), a.values("expected"), std::nullopt};
  });
}

Sample factory(Attrs attrs, Shape shape, std::vector<double> expected, const std::string& tag) {
  return sample({in({})}, attrs.shape("expected_shape", std::move(shape)).values("expected", std::move(expected)), tag);
}

std::vector<double> filled(const Shape& s, double value) {
  return std::vector<double>(static_cast<size_t>(numel_of(s)), value);
}

}  // namespace

std::vector<OpRow> factory_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "constant_factories";
    r.covers = {"zeros", "ones", "full", "zeros_like", "ones_like", "full_like"};
    r.dtypes = numeric_dtypes();
    // Attributes: call, shape, value (an integer scalar, for full and full_like).
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      const TensorOptions o = v[0].options();
      const std::string& call = a.s("call");
      const Shape& shape = a.shape("shape");
      if (call == "zeros") return zeros(shape, o);
      if (call == "ones") return ones(shape, o);
      if (call == "full") return full(shape, a.i("value"), o);
      if (call == "zeros_like") return zeros_like(ones(shape, o));
      if (call == "ones_like") return ones_like(zeros(shape, o));
      return full_like(zeros(shape, o), a.i("value"));
    });
    r.ref = expected_values();
    r.samples = [] {
      auto make = [](const char* call, Shape shape, int64_t value, double fill, const char* tag) {
        return factory(Attrs().s("call", call).shape("shape", shape).i("value", value), shape, filled(shape, fill), tag);
      };
      std::vector<Sample> s;
      s.push_back(make("zeros", {2, 3}, 0, 0, "zeros"));
      s.push_back(make("ones", {4}, 0, 1, "ones"));
      s.push_back(make("full", {3, 1, 2}, 7, 7, "full"));
      s.push_back(make("full", {}, -2, -2, "full_0dim"));
      s.push_back(make("zeros", {0, 5}, 0, 0, "zeros_empty"));
      s.push_back(make("zeros_like", {2, 2}, 0, 0, "zeros_like"));
      s.push_back(make("ones_like", {3}, 0, 1, "ones_like"));
      s.push_back(make("full_like", {1, 2}, 5, 5, "full_like"));
      return s;
    };
    r.errors = {error("negative_size", [] { zeros({2, -1}); }, ErrorKind::Shape, {"[2, -1]"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "arange";
    r.dtypes = numeric_dtypes();
    // Integer scalars start, end, step; only end: the one-argument form.
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      if (!a.has("start")) return arange(a.i("end"), v[0].options());
      return arange(a.i("start"), a.i("end"), a.i("step"), v[0].options());
    });
    r.ref = expected_values();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory(Attrs().i("end", 5), {5}, {0, 1, 2, 3, 4}, "end5"));
      s.push_back(factory(Attrs().i("start", 2).i("end", 11).i("step", 3), {3}, {2, 5, 8}, "step3"));
      s.push_back(factory(Attrs().i("start", 5).i("end", -1).i("step", -2), {3}, {5, 3, 1}, "negative_step"));
      s.push_back(factory(Attrs().i("start", 3).i("end", 3).i("step", 1), {0}, {}, "empty"));
      return s;
    };
    r.errors = {error("zero_step", [] { arange(0, 5, 0); }, ErrorKind::Value, {"arange", "step"}),
                error("wrong_sign", [] { arange(5, 0, 1); }, ErrorKind::Value, {"arange", "step"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "arange_float";
    r.covers = {"arange"};
    r.dtypes = floating_dtypes();
    // start an integer scalar, end and step floating ones.
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      return arange(a.i("start"), a.d("end"), a.d("step"), v[0].options());
    });
    r.ref = expected_values();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory(Attrs().i("start", 0).d("end", 1.0).d("step", 0.25), {4}, {0, 0.25, 0.5, 0.75},
                          "quarter_steps"));
      s.push_back(factory(Attrs().i("start", -1).d("end", 0.5).d("step", 0.5), {3}, {-1, -0.5, 0}, "half_steps"));
      return s;
    };
    rows.push_back(r);
  }
  // Attributes start, end, steps.
  const KilnFn linspace_fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return linspace(a.d("start"), a.d("end"), a.i("steps"), v[0].options());
  });
  auto linspace_attrs = [](double start, double end, int64_t steps) {
    return Attrs().d("start", start).d("end", end).i("steps", steps);
  };
  {
    OpRow r;
    r.name = "linspace";
    r.dtypes = floating_dtypes();
    r.fn = linspace_fn;
    r.ref = expected_values();
    r.samples = [linspace_attrs] {
      std::vector<Sample> s;
      s.push_back(factory(linspace_attrs(0, 1, 5), {5}, {0, 0.25, 0.5, 0.75, 1}, "0_1_5"));
      s.push_back(factory(linspace_attrs(2, -2, 3), {3}, {2, 0, -2}, "descending"));
      s.push_back(factory(linspace_attrs(3, 9, 1), {1}, {3}, "one"));
      s.push_back(factory(linspace_attrs(3, 9, 0), {0}, {}, "none"));
      return s;
    };
    r.errors = {error("negative_steps", [] { linspace(0, 1, -1); }, ErrorKind::Value, {"linspace", "-1"}),
                error("bool", [] { linspace(0, 1, 3, kBool); }, ErrorKind::DType, {"linspace", "bool"})};
    rows.push_back(r);
  }
  {
    // Integer dtypes: PyTorch computes the points in floating point and
    // truncates toward zero; the last point is exactly `end`.
    OpRow r;
    r.name = "linspace_int";
    r.covers = {"linspace"};
    r.dtypes = {kInt32, kInt64};
    r.fn = linspace_fn;
    r.ref = expected_values();
    r.samples = [linspace_attrs] {
      std::vector<Sample> s;
      s.push_back(factory(linspace_attrs(0, 10, 4), {4}, {0, 3, 6, 10}, "0_10_4"));
      s.push_back(factory(linspace_attrs(-5, 5, 4), {4}, {-5, -1, 1, 5}, "truncates_toward_zero"));
      s.push_back(factory(linspace_attrs(10, 0, 5), {5}, {10, 7, 5, 2, 0}, "descending"));
      std::vector<double> last(49, 0.0);
      last.back() = 1;
      s.push_back(factory(linspace_attrs(0, 1, 49), {49}, last, "last_point_is_end"));
      s.push_back(factory(linspace_attrs(3, 9, 1), {1}, {3}, "one"));
      s.push_back(factory(linspace_attrs(3, 9, 0), {0}, {}, "none"));
      return s;
    };
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "eye";
    r.dtypes = numeric_dtypes();
    // Attributes n and (for the two-argument form) m.
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      return a.has("m") ? eye(a.i("n"), a.i("m"), v[0].options()) : eye(a.i("n"), v[0].options());
    });
    r.ref = expected_values();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory(Attrs().i("n", 3), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, "3"));
      s.push_back(factory(Attrs().i("n", 2).i("m", 4), {2, 4}, {1, 0, 0, 0, 0, 1, 0, 0}, "2x4"));
      s.push_back(factory(Attrs().i("n", 3).i("m", 1), {3, 1}, {1, 0, 0}, "3x1"));
      s.push_back(factory(Attrs().i("n", 0), {0, 0}, {}, "0"));
      return s;
    };
    r.errors = {error("negative", [] { eye(-1); }, ErrorKind::Value, {"eye", "-1"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
