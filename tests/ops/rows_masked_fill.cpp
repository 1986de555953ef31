// Rows for masked_fill, triu and tril (include/kiln/ops/indexing.h; made of
// a mask and where() in src/ops/masked_fill.cpp).
#include <cmath>
#include <limits>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

std::vector<double> pattern(int64_t n, int period) {
  std::vector<double> v;
  for (int64_t i = 0; i < n; ++i) v.push_back((i * 5 + 1) % period == 0 ? 1.0 : 0.0);
  return v;
}

SampleInput bools(Shape s, int period = 3) {
  const int64_t n = numel_of(s);
  return fixed(std::move(s), pattern(n, period), kBool);
}

// true above the diagonal of a [5, 6] matrix (the keys a causal query may not see).
SampleInput tril_mask_input() {
  std::vector<double> v;
  for (int64_t i = 0; i < 5; ++i)
    for (int64_t j = 0; j < 6; ++j) v.push_back(j > i ? 1.0 : 0.0);
  return fixed({5, 6}, v, kBool);
}

// Zeros where keep(j - i) is false in the last two dims.
Ref ref_triangle(const Ref& x, int64_t diagonal, bool upper) {
  Ref out{x.shape, x.v, std::nullopt};
  const int64_t nd = static_cast<int64_t>(x.shape.size());
  for (int64_t e = 0; e < numel_of(x.shape); ++e) {
    const std::vector<int64_t> idx = unravel(e, x.shape);
    const int64_t off = idx[nd - 1] - idx[nd - 2];
    if (upper ? off < diagonal : off > diagonal) out.v[e] = 0;
  }
  return out;
}

}  // namespace

std::vector<OpRow> masked_fill_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "masked_fill";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    // Inputs x and a fixed bool mask; attribute value (and "int" for an integer scalar).
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
      return a.b("int") ? masked_fill(v[0], v[1], a.i("value")) : masked_fill(v[0], v[1], a.d("value"));
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const double fill = a.d("value");
      return map2(v[0], v[1], [fill](double x, double m) { return m != 0 ? fill : x; });
    });
    r.samples = [] {
      std::vector<Sample> s;
      const Attrs seven = Attrs().i("value", 7).b("int", true);
      s.push_back(sample({in({4, 7}), bools({4, 7})}, seven, "same_shape"));
      s.push_back(sample({in({4, 7}), bools({7})}, seven, "broadcast_row"));
      s.push_back(sample({in({2, 3, 4}), bools({3, 1})}, seven, "broadcast_col"));
      s.push_back(sample({in({3, 5}, kT), bools({3, 5})}, seven, "strided"));
      s.push_back(sample({in({}), bools({}, 1)}, seven, "scalar"));
      s.push_back(sample({in({0, 3}), bools({3})}, seven, "empty"));
      s.push_back(sample({in({70, 513}), bools({70, 513}, 4)}, seven, "large"));
      return s;
    };
    r.errors = {
        error("mask_not_bool", [] { masked_fill(zeros({2, 3}), zeros({2, 3}), 1); }, ErrorKind::DType,
              {"masked_fill", "mask must be bool"}),
        error("mask_too_big", [] { masked_fill(zeros({3}), zeros({2, 3}, kBool), 1); }, ErrorKind::Shape,
              {"masked_fill", "[2, 3]", "[3]"}),
        error("float_into_int", [] { masked_fill(zeros({3}, kInt64), zeros({3}, kBool), 0.5); }, ErrorKind::DType,
              {"masked_fill", "0.5"}),
    };
    rows.push_back(r);
  }
  {
    // -inf fill, the attention use: floating dtypes only.
    OpRow r;
    r.name = "masked_fill_neg_inf";
    r.covers = {"masked_fill"};
    r.dtypes = floating_dtypes();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) {
      return masked_fill(v[0], v[1], -std::numeric_limits<double>::infinity());
    });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs&) {
      return map2(v[0], v[1], [](double x, double m) { return m != 0 ? -INFINITY : x; });
    });
    r.samples = [] { return std::vector<Sample>{sample({in({5, 6}), tril_mask_input()}, "causal_like")}; };
    rows.push_back(r);
  }
  for (bool upper : {true, false}) {
    OpRow r;
    r.name = upper ? "triu" : "tril";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([upper](const std::vector<Tensor>& v, const Attrs& a) {
      return upper ? triu(v[0], a.i("diagonal")) : tril(v[0], a.i("diagonal"));
    });
    r.ref = one_ref(
        [upper](const std::vector<Ref>& v, const Attrs& a) { return ref_triangle(v[0], a.i("diagonal"), upper); });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, int64_t>> cases = {
          {in({4, 4}), 0},   {in({4, 7}), 1},  {in({7, 4}), -2},    {in({2, 3, 5}), 0}, {in({3, 6}, kT), 2},
          {in({5, 6}, kE), -1}, {in({1, 1}), 0}, {in({0, 3}), 0},  {in({4, 4}), 9},    {in({4, 4}), -9},
          {in({64, 200}), 3}};
      for (const auto& [input, diag] : cases)
        s.push_back(sample({input}, Attrs().i("diagonal", diag), "diag" + std::to_string(diag)));
      return s;
    };
    const char* op = upper ? "triu" : "tril";
    r.errors = {error("vector_input", [upper] { upper ? triu(zeros({3})) : tril(zeros({3})); }, ErrorKind::Shape,
                      {op, "at least 2 dims"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
