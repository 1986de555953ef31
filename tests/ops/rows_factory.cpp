// Rows for the deterministic factories of include/kiln/ops/factory.h. Each
// sample's one input is a 0-dim "carrier" whose dtype and device are the
// ones under test; the factory is called with carrier.options(). Random
// factories are tested in tests/core/random_test.cpp.
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

Sample factory(std::function<Tensor(const TensorOptions&)> make, Ref expected, const std::string& tag) {
  return sample({in({})}, [make](const std::vector<Tensor>& v) { return make(v[0].options()); },
                [expected](const std::vector<Ref>&) { return expected; }, tag);
}

Ref filled(Shape s, double value) {
  return Ref{s, std::vector<double>(static_cast<size_t>(numel_of(s)), value), std::nullopt};
}

}  // namespace

std::vector<OpRow> factory_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "constant_factories";
    r.covers = {"zeros", "ones", "full", "zeros_like", "ones_like", "full_like"};
    r.dtypes = numeric_dtypes();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory([](const TensorOptions& o) { return zeros({2, 3}, o); }, filled({2, 3}, 0), "zeros"));
      s.push_back(factory([](const TensorOptions& o) { return ones({4}, o); }, filled({4}, 1), "ones"));
      s.push_back(factory([](const TensorOptions& o) { return full({3, 1, 2}, 7, o); }, filled({3, 1, 2}, 7), "full"));
      s.push_back(factory([](const TensorOptions& o) { return full({}, -2, o); }, filled({}, -2), "full_0dim"));
      s.push_back(factory([](const TensorOptions& o) { return zeros({0, 5}, o); }, filled({0, 5}, 0), "zeros_empty"));
      s.push_back(factory([](const TensorOptions& o) { return zeros_like(ones({2, 2}, o)); }, filled({2, 2}, 0),
                          "zeros_like"));
      s.push_back(factory([](const TensorOptions& o) { return ones_like(zeros({3}, o)); }, filled({3}, 1), "ones_like"));
      s.push_back(factory([](const TensorOptions& o) { return full_like(zeros({1, 2}, o), 5); }, filled({1, 2}, 5),
                          "full_like"));
      return s;
    };
    r.errors = {error("negative_size", [] { zeros({2, -1}); }, ErrorKind::Shape, {"[2, -1]"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "arange";
    r.dtypes = numeric_dtypes();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory([](const TensorOptions& o) { return arange(5, o); }, Ref{{5}, {0, 1, 2, 3, 4}, std::nullopt},
                          "end5"));
      s.push_back(factory([](const TensorOptions& o) { return arange(2, 11, 3, o); }, Ref{{3}, {2, 5, 8}, std::nullopt},
                          "step3"));
      s.push_back(factory([](const TensorOptions& o) { return arange(5, -1, -2, o); }, Ref{{3}, {5, 3, 1}, std::nullopt},
                          "negative_step"));
      s.push_back(factory([](const TensorOptions& o) { return arange(3, 3, 1, o); }, Ref{{0}, {}, std::nullopt}, "empty"));
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
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory([](const TensorOptions& o) { return arange(0, 1, 0.25, o); },
                          Ref{{4}, {0, 0.25, 0.5, 0.75}, std::nullopt}, "quarter_steps"));
      s.push_back(factory([](const TensorOptions& o) { return arange(-1, 0.5, 0.5, o); },
                          Ref{{3}, {-1, -0.5, 0}, std::nullopt}, "half_steps"));
      return s;
    };
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "linspace";
    r.dtypes = floating_dtypes();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory([](const TensorOptions& o) { return linspace(0, 1, 5, o); },
                          Ref{{5}, {0, 0.25, 0.5, 0.75, 1}, std::nullopt}, "0_1_5"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(2, -2, 3, o); }, Ref{{3}, {2, 0, -2}, std::nullopt},
                          "descending"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(3, 9, 1, o); }, Ref{{1}, {3}, std::nullopt}, "one"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(3, 9, 0, o); }, Ref{{0}, {}, std::nullopt}, "none"));
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
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory([](const TensorOptions& o) { return linspace(0, 10, 4, o); },
                          Ref{{4}, {0, 3, 6, 10}, std::nullopt}, "0_10_4"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(-5, 5, 4, o); },
                          Ref{{4}, {-5, -1, 1, 5}, std::nullopt}, "truncates_toward_zero"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(10, 0, 5, o); },
                          Ref{{5}, {10, 7, 5, 2, 0}, std::nullopt}, "descending"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(0, 1, 49, o); },
                          Ref{{49}, [] { std::vector<double> v(49, 0.0); v.back() = 1; return v; }(), std::nullopt},
                          "last_point_is_end"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(3, 9, 1, o); }, Ref{{1}, {3}, std::nullopt}, "one"));
      s.push_back(factory([](const TensorOptions& o) { return linspace(3, 9, 0, o); }, Ref{{0}, {}, std::nullopt}, "none"));
      return s;
    };
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "eye";
    r.dtypes = numeric_dtypes();
    r.samples = [] {
      std::vector<Sample> s;
      s.push_back(factory([](const TensorOptions& o) { return eye(3, o); },
                          Ref{{3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1}, std::nullopt}, "3"));
      s.push_back(factory([](const TensorOptions& o) { return eye(2, 4, o); },
                          Ref{{2, 4}, {1, 0, 0, 0, 0, 1, 0, 0}, std::nullopt}, "2x4"));
      s.push_back(factory([](const TensorOptions& o) { return eye(3, 1, o); }, Ref{{3, 1}, {1, 0, 0}, std::nullopt}, "3x1"));
      s.push_back(factory([](const TensorOptions& o) { return eye(0, o); }, Ref{{0, 0}, {}, std::nullopt}, "0"));
      return s;
    };
    r.errors = {error("negative", [] { eye(-1); }, ErrorKind::Value, {"eye", "-1"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
