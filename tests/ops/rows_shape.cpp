// Rows for the view functions of include/kiln/ops/indexing.h (reshape,
// flatten, transpose, permute, squeeze, unsqueeze) and the Tensor view
// methods (narrow, slice, select, expand). Values are the reference; that
// views share storage is tested in tests/core/view_test.cpp.
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// Same values, new shape.
Ref with_shape(const Ref& x, Shape s) { return Ref{std::move(s), x.v, std::nullopt}; }

Ref ref_permute(const Ref& x, const Shape& dims) {
  Ref out;
  for (int64_t d : dims) out.shape.push_back(x.shape[d]);
  for (int64_t i = 0; i < numel_of(out.shape); ++i) {
    auto oi = unravel(i, out.shape);
    std::vector<int64_t> xi(x.shape.size());
    for (size_t k = 0; k < dims.size(); ++k) xi[dims[k]] = oi[k];
    out.v.push_back(x.v[ravel(xi, x.shape)]);
  }
  return out;
}

Ref ref_slice(const Ref& x, int64_t d, int64_t start, int64_t step, int64_t len) {
  Ref out;
  out.shape = x.shape;
  out.shape[d] = len;
  for (int64_t i = 0; i < numel_of(out.shape); ++i) {
    auto oi = unravel(i, out.shape);
    oi[d] = start + oi[d] * step;
    out.v.push_back(x.v[ravel(oi, x.shape)]);
  }
  return out;
}

OpRow view_row(const std::string& name, std::vector<Sample> (*make)()) {
  OpRow r;
  r.name = name;
  r.dtypes = numeric_dtypes();
  r.grad = grad_on();
  r.samples = make;
  return r;
}

using Fn = std::function<Tensor(const Tensor&)>;
using RFn = std::function<Ref(const Ref&)>;
Sample one(SampleInput input, Fn f, RFn r, const std::string& tag) {
  return sample({std::move(input)}, [f](const std::vector<Tensor>& v) { return f(v[0]); },
                [r](const std::vector<Ref>& v) { return r(v[0]); }, tag);
}

}  // namespace

std::vector<OpRow> shape_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r = view_row("reshape", [] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, Shape>> cases = {
          {in({2, 6}), {3, 4}},     {in({2, 6}), {-1}},       {in({3, 4}, kT), {4, 3}},  {in({2, 3, 4}, kS), {6, -1}},
          {in({}), {1, 1}},         {in({1}), {}},            {in({0, 3}), {3, 0, 2}},   {in({5, 6}, kE), {30}},
          {in({4, 1, 3}), {2, 2, 3}}};
      for (const auto& [input, shape] : cases) {
        const Shape sh = shape;
        s.push_back(one(input, [sh](const Tensor& x) { return reshape(x, sh); },
                        [sh](const Ref& x) {
                          Shape out = sh;
                          int64_t known = 1;
                          for (int64_t v : out)
                            if (v != -1) known *= v;
                          for (int64_t& v : out)
                            if (v == -1) v = numel_of(x.shape) / known;
                          return with_shape(x, out);
                        },
                        "to" + shape_str(sh)));
      }
      return s;
    });
    r.errors = {error("bad_numel", [] { reshape(zeros({2, 3}), {4}); }, ErrorKind::Shape, {"reshape", "[4]", "6"}),
                error("two_minus_one", [] { reshape(zeros({2, 3}), {-1, -1}); }, ErrorKind::Shape, {"reshape", "-1"}),
                error("view_incompatible", [] { zeros({3, 4}).t().view({12}); }, ErrorKind::Shape, {"view", "reshape"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row("flatten", [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, int64_t>> cases = {
          {in({2, 3, 4}), 0, -1}, {in({2, 3, 4}), 1, 2}, {in({2, 3, 4}, kT), 0, 1}, {in({}), 0, -1}, {in({5}), 0, 0}};
      for (const auto& [input, a, b] : cases) {
        const int64_t s0 = a, e0 = b;
        s.push_back(one(input, [s0, e0](const Tensor& x) { return flatten(x, s0, e0); },
                        [s0, e0](const Ref& x) {
                          if (x.shape.empty()) return with_shape(x, {1});
                          const int64_t n = static_cast<int64_t>(x.shape.size());
                          const int64_t st = s0 < 0 ? s0 + n : s0, en = e0 < 0 ? e0 + n : e0;
                          Shape out(x.shape.begin(), x.shape.begin() + st);
                          int64_t m = 1;
                          for (int64_t i = st; i <= en; ++i) m *= x.shape[i];
                          out.push_back(m);
                          out.insert(out.end(), x.shape.begin() + en + 1, x.shape.end());
                          return with_shape(x, out);
                        },
                        std::to_string(a) + "_" + std::to_string(b)));
      }
      return s;
    });
    r.errors = {error("start_after_end", [] { flatten(zeros({2, 3, 4}), 2, 1); }, ErrorKind::Value, {"flatten"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row("transpose", [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, int64_t>> cases = {
          {in({3, 4}), 0, 1}, {in({2, 3, 4}, kS), 0, 2}, {in({2, 3, 4}), -1, 1}, {in({3, 4}, kT), 1, 1}};
      for (const auto& [input, a, b] : cases) {
        const int64_t d0 = a, d1 = b;
        s.push_back(one(input, [d0, d1](const Tensor& x) { return transpose(x, d0, d1); },
                        [d0, d1](const Ref& x) {
                          const int64_t n = static_cast<int64_t>(x.shape.size());
                          Shape dims(n);
                          for (int64_t i = 0; i < n; ++i) dims[i] = i;
                          std::swap(dims[d0 < 0 ? d0 + n : d0], dims[d1 < 0 ? d1 + n : d1]);
                          return ref_permute(x, dims);
                        },
                        std::to_string(a) + "_" + std::to_string(b)));
      }
      return s;
    });
    r.errors = {error("dim_out_of_range", [] { transpose(zeros({2, 3}), 0, 2); }, ErrorKind::Index, {"transpose", "dim 2"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row("permute", [] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, Shape>> cases = {
          {in({2, 3, 4}), {2, 0, 1}}, {in({2, 3, 4}, kT), {1, 2, 0}}, {in({3, 5}), {-1, 0}}, {in({}), {}}};
      for (const auto& [input, dims] : cases) {
        const Shape d = dims;
        s.push_back(one(input, [d](const Tensor& x) { return permute(x, d); },
                        [d](const Ref& x) {
                          Shape w = d;
                          for (int64_t& v : w)
                            if (v < 0) v += static_cast<int64_t>(x.shape.size());
                          return ref_permute(x, w);
                        },
                        shape_str(d)));
      }
      return s;
    });
    r.errors = {error("repeated", [] { permute(zeros({2, 3}), {0, 0}); }, ErrorKind::Index, {"permute", "repeats"}),
                error("wrong_count", [] { permute(zeros({2, 3}), {0}); }, ErrorKind::Shape, {"permute", "[2, 3]"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row("squeeze", [] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, int64_t>> cases = {
          {in({3, 1, 4}), 1}, {in({3, 1, 4}), 0}, {in({1}), -1}, {in({}), 0}, {in({2, 1}, kT), 1}};
      for (const auto& [input, dim] : cases) {
        const int64_t d = dim;
        s.push_back(one(input, [d](const Tensor& x) { return squeeze(x, d); },
                        [d](const Ref& x) {
                          if (x.shape.empty()) return x;
                          const int64_t dd = d < 0 ? d + static_cast<int64_t>(x.shape.size()) : d;
                          Shape out = x.shape;
                          if (out[dd] == 1) out.erase(out.begin() + dd);
                          return with_shape(x, out);
                        },
                        "dim" + std::to_string(d)));
      }
      // squeeze() without a dim (a Tensor method).
      s.push_back(one(in({1, 3, 1, 2}), [](const Tensor& x) { return x.squeeze(); },
                      [](const Ref& x) { return with_shape(x, {3, 2}); }, "all"));
      return s;
    });
    rows.push_back(r);
  }
  {
    OpRow r = view_row("unsqueeze", [] {
      std::vector<Sample> s;
      const std::vector<std::pair<SampleInput, int64_t>> cases = {
          {in({3, 4}), 0}, {in({3, 4}), 2}, {in({3, 4}, kT), -1}, {in({3, 4}, kS), 1}, {in({}), 0}};
      for (const auto& [input, dim] : cases) {
        const int64_t d = dim;
        s.push_back(one(input, [d](const Tensor& x) { return unsqueeze(x, d); },
                        [d](const Ref& x) {
                          Shape out = x.shape;
                          const int64_t dd = d < 0 ? d + static_cast<int64_t>(x.shape.size()) + 1 : d;
                          out.insert(out.begin() + dd, 1);
                          return with_shape(x, out);
                        },
                        "dim" + std::to_string(d)));
      }
      return s;
    });
    r.errors = {error("dim_out_of_range", [] { unsqueeze(zeros({2}), 3); }, ErrorKind::Index, {"unsqueeze", "dim 3"})};
    rows.push_back(r);
  }
  {
    // Tensor methods: narrow, slice (with step), select, expand.
    OpRow r = view_row("view_methods", [] {
      std::vector<Sample> s;
      s.push_back(one(in({5, 4}), [](const Tensor& x) { return x.narrow(0, 1, 3); },
                      [](const Ref& x) { return ref_slice(x, 0, 1, 1, 3); }, "narrow"));
      s.push_back(one(in({4, 7}, kT), [](const Tensor& x) { return x.slice(1, 1, 7, 3); },
                      [](const Ref& x) { return ref_slice(x, 1, 1, 3, 2); }, "slice_step3"));
      s.push_back(one(in({4, 7}), [](const Tensor& x) { return x.slice(-1, -3, 100); },
                      [](const Ref& x) { return ref_slice(x, 1, 4, 1, 3); }, "slice_negative_start"));
      s.push_back(one(in({3, 4}, kS), [](const Tensor& x) { return x.select(1, -1); },
                      [](const Ref& x) {
                        Ref c = ref_slice(x, 1, 3, 1, 1);
                        return with_shape(c, {3});
                      },
                      "select"));
      s.push_back(one(in({3, 1}), [](const Tensor& x) { return x.expand({2, 3, 4}); },
                      [](const Ref& x) {
                        Ref out{{2, 3, 4}, {}, std::nullopt};
                        for (int64_t i = 0; i < 24; ++i) out.v.push_back(x.v[(i / 4) % 3]);
                        return out;
                      },
                      "expand"));
      s.push_back(one(in({2, 3}), [](const Tensor& x) { return x.t(); },
                      [](const Ref& x) { return ref_permute(x, {1, 0}); }, "t"));
      return s;
    });
    r.covers = {};
    r.errors = {error("narrow_out_of_range", [] { zeros({5}).narrow(0, 3, 3); }, ErrorKind::Index, {"narrow", "5"}),
                error("select_out_of_range", [] { zeros({2, 3}).select(1, 3); }, ErrorKind::Index, {"select", "3", "[2, 3]"}),
                error("expand_bad", [] { zeros({2, 3}).expand({4, 3}); }, ErrorKind::Shape, {"expand", "[2, 3]", "[4, 3]"}),
                error("slice_zero_step", [] { zeros({4}).slice(0, 0, 4, 0); }, ErrorKind::Value, {"slice", "step"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
