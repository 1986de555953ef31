// Rows for the view functions of include/kiln/ops/indexing.h (reshape,
// flatten, transpose, permute, squeeze, unsqueeze) and the Tensor view
// methods (narrow, slice, select, expand). Values are the reference; that
// views share storage is tested in tests/core/view_test.cpp.
#include <algorithm>

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

// A view row: one input; fn and ref of the input alone and the attributes.
OpRow view_row(const std::string& name, std::function<Tensor(const Tensor&, const Attrs&)> f,
               std::function<Ref(const Ref&, const Attrs&)> r, std::vector<Sample> (*make)()) {
  OpRow row;
  row.name = name;
  row.dtypes = numeric_dtypes();
  row.grad = grad_on();
  row.fn = one_output([f](const std::vector<Tensor>& v, const Attrs& a) { return f(v[0], a); });
  row.ref = one_ref([r](const std::vector<Ref>& v, const Attrs& a) { return r(v[0], a); });
  row.samples = make;
  return row;
}

}  // namespace

std::vector<OpRow> shape_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r = view_row(
        "reshape", [](const Tensor& x, const Attrs& a) { return reshape(x, a.shape("shape")); },
        [](const Ref& x, const Attrs& a) {
          Shape out = a.shape("shape");
          int64_t known = 1;
          for (int64_t v : out)
            if (v != -1) known *= v;
          for (int64_t& v : out)
            if (v == -1) v = numel_of(x.shape) / known;
          return with_shape(x, out);
        },
        [] {
          std::vector<Sample> s;
          const std::vector<std::pair<SampleInput, Shape>> cases = {
              {in({2, 6}), {3, 4}},     {in({2, 6}), {-1}},       {in({3, 4}, kT), {4, 3}},  {in({2, 3, 4}, kS), {6, -1}},
              {in({}), {1, 1}},         {in({1}), {}},            {in({0, 3}), {3, 0, 2}},   {in({5, 6}, kE), {30}},
              {in({4, 1, 3}), {2, 2, 3}}};
          for (const auto& [input, shape] : cases)
            s.push_back(sample({input}, Attrs().shape("shape", shape), "to" + shape_str(shape)));
          return s;
        });
    r.errors = {error("bad_numel", [] { reshape(zeros({2, 3}), {4}); }, ErrorKind::Shape, {"reshape", "[4]", "6"}),
                error("two_minus_one", [] { reshape(zeros({2, 3}), {-1, -1}); }, ErrorKind::Shape, {"reshape", "-1"}),
                error("view_incompatible", [] { zeros({3, 4}).t().view({12}); }, ErrorKind::Shape, {"view", "reshape"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row(
        "flatten", [](const Tensor& x, const Attrs& a) { return flatten(x, a.i("start"), a.i("end")); },
        [](const Ref& x, const Attrs& a) {
          if (x.shape.empty()) return with_shape(x, {1});
          const int64_t n = static_cast<int64_t>(x.shape.size());
          const int64_t s0 = a.i("start"), e0 = a.i("end");
          const int64_t st = s0 < 0 ? s0 + n : s0, en = e0 < 0 ? e0 + n : e0;
          Shape out(x.shape.begin(), x.shape.begin() + st);
          int64_t m = 1;
          for (int64_t i = st; i <= en; ++i) m *= x.shape[i];
          out.push_back(m);
          out.insert(out.end(), x.shape.begin() + en + 1, x.shape.end());
          return with_shape(x, out);
        },
        [] {
          std::vector<Sample> s;
          const std::vector<std::tuple<SampleInput, int64_t, int64_t>> cases = {
              {in({2, 3, 4}), 0, -1}, {in({2, 3, 4}), 1, 2}, {in({2, 3, 4}, kT), 0, 1}, {in({}), 0, -1}, {in({5}), 0, 0}};
          for (const auto& [input, a, b] : cases)
            s.push_back(sample({input}, Attrs().i("start", a).i("end", b), std::to_string(a) + "_" + std::to_string(b)));
          return s;
        });
    r.errors = {error("start_after_end", [] { flatten(zeros({2, 3, 4}), 2, 1); }, ErrorKind::Value, {"flatten"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row(
        "transpose", [](const Tensor& x, const Attrs& a) { return transpose(x, a.i("dim0"), a.i("dim1")); },
        [](const Ref& x, const Attrs& a) {
          const int64_t n = static_cast<int64_t>(x.shape.size());
          const int64_t d0 = a.i("dim0"), d1 = a.i("dim1");
          Shape dims(n);
          for (int64_t i = 0; i < n; ++i) dims[i] = i;
          std::swap(dims[d0 < 0 ? d0 + n : d0], dims[d1 < 0 ? d1 + n : d1]);
          return ref_permute(x, dims);
        },
        [] {
          std::vector<Sample> s;
          const std::vector<std::tuple<SampleInput, int64_t, int64_t>> cases = {
              {in({3, 4}), 0, 1}, {in({2, 3, 4}, kS), 0, 2}, {in({2, 3, 4}), -1, 1}, {in({3, 4}, kT), 1, 1}};
          for (const auto& [input, a, b] : cases)
            s.push_back(sample({input}, Attrs().i("dim0", a).i("dim1", b), std::to_string(a) + "_" + std::to_string(b)));
          return s;
        });
    r.errors = {error("dim_out_of_range", [] { transpose(zeros({2, 3}), 0, 2); }, ErrorKind::Index, {"transpose", "dim 2"})};
    rows.push_back(r);
  }
  {
    OpRow r = view_row(
        "permute", [](const Tensor& x, const Attrs& a) { return permute(x, a.shape("dims")); },
        [](const Ref& x, const Attrs& a) {
          Shape w = a.shape("dims");
          for (int64_t& v : w)
            if (v < 0) v += static_cast<int64_t>(x.shape.size());
          return ref_permute(x, w);
        },
        [] {
          std::vector<Sample> s;
          const std::vector<std::pair<SampleInput, Shape>> cases = {
              {in({2, 3, 4}), {2, 0, 1}}, {in({2, 3, 4}, kT), {1, 2, 0}}, {in({3, 5}), {-1, 0}}, {in({}), {}}};
          for (const auto& [input, dims] : cases) s.push_back(sample({input}, Attrs().shape("dims", dims), shape_str(dims)));
          return s;
        });
    r.errors = {error("repeated", [] { permute(zeros({2, 3}), {0, 0}); }, ErrorKind::Index, {"permute", "repeats"}),
                error("wrong_count", [] { permute(zeros({2, 3}), {0}); }, ErrorKind::Shape, {"permute", "[2, 3]"})};
    rows.push_back(r);
  }
  {
    // Attribute dim; without it, squeeze() (a Tensor method) of every size-1 dim.
    OpRow r = view_row(
        "squeeze", [](const Tensor& x, const Attrs& a) { return a.has("dim") ? squeeze(x, a.i("dim")) : x.squeeze(); },
        [](const Ref& x, const Attrs& a) {
          if (x.shape.empty()) return x;
          Shape out;
          if (!a.has("dim")) {
            for (int64_t v : x.shape)
              if (v != 1) out.push_back(v);
            return with_shape(x, out);
          }
          const int64_t d = a.i("dim");
          const int64_t dd = d < 0 ? d + static_cast<int64_t>(x.shape.size()) : d;
          out = x.shape;
          if (out[dd] == 1) out.erase(out.begin() + dd);
          return with_shape(x, out);
        },
        [] {
          std::vector<Sample> s;
          const std::vector<std::pair<SampleInput, int64_t>> cases = {
              {in({3, 1, 4}), 1}, {in({3, 1, 4}), 0}, {in({1}), -1}, {in({}), 0}, {in({2, 1}, kT), 1}};
          for (const auto& [input, dim] : cases)
            s.push_back(sample({input}, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
          s.push_back(sample({in({1, 3, 1, 2})}, "all"));
          return s;
        });
    rows.push_back(r);
  }
  {
    OpRow r = view_row(
        "unsqueeze", [](const Tensor& x, const Attrs& a) { return unsqueeze(x, a.i("dim")); },
        [](const Ref& x, const Attrs& a) {
          Shape out = x.shape;
          const int64_t d = a.i("dim");
          const int64_t dd = d < 0 ? d + static_cast<int64_t>(x.shape.size()) + 1 : d;
          out.insert(out.begin() + dd, 1);
          return with_shape(x, out);
        },
        [] {
          std::vector<Sample> s;
          const std::vector<std::pair<SampleInput, int64_t>> cases = {
              {in({3, 4}), 0}, {in({3, 4}), 2}, {in({3, 4}, kT), -1}, {in({3, 4}, kS), 1}, {in({}), 0}};
          for (const auto& [input, dim] : cases)
            s.push_back(sample({input}, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
          return s;
        });
    r.errors = {error("dim_out_of_range", [] { unsqueeze(zeros({2}), 3); }, ErrorKind::Index, {"unsqueeze", "dim 3"})};
    rows.push_back(r);
  }
  {
    // Tensor methods: narrow, slice (with step), select, expand, t. Attribute
    // "method" picks one; its arguments are the other attributes.
    OpRow r = view_row(
        "view_methods",
        [](const Tensor& x, const Attrs& a) {
          const std::string& m = a.s("method");
          if (m == "narrow") return x.narrow(a.i("dim"), a.i("start"), a.i("length"));
          if (m == "slice")
            return a.has("step") ? x.slice(a.i("dim"), a.i("start"), a.i("end"), a.i("step"))
                                 : x.slice(a.i("dim"), a.i("start"), a.i("end"));
          if (m == "select") return x.select(a.i("dim"), a.i("index"));
          if (m == "expand") return x.expand(a.shape("shape"));
          return x.t();
        },
        [](const Ref& x, const Attrs& a) {
          const std::string& m = a.s("method");
          const int64_t nd = static_cast<int64_t>(x.shape.size());
          auto wrap = [nd](int64_t d) { return d < 0 ? d + nd : d; };
          if (m == "narrow") return ref_slice(x, wrap(a.i("dim")), a.i("start"), 1, a.i("length"));
          if (m == "slice") {
            const int64_t d = wrap(a.i("dim")), n = x.shape[d], step = a.has("step") ? a.i("step") : 1;
            auto clampi = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
            const int64_t start = clampi(a.i("start")), end = std::max(clampi(a.i("end")), start);
            return ref_slice(x, d, start, step, (end - start + step - 1) / step);
          }
          if (m == "select") {
            const int64_t d = wrap(a.i("dim")), idx = a.i("index") < 0 ? a.i("index") + x.shape[d] : a.i("index");
            Shape out = x.shape;
            out.erase(out.begin() + d);
            return with_shape(ref_slice(x, d, idx, 1, 1), out);
          }
          if (m == "expand") {
            Ref out{a.shape("shape"), {}, std::nullopt};
            for (int64_t i = 0; i < numel_of(out.shape); ++i) out.v.push_back(at_broadcast(x, unravel(i, out.shape)));
            return out;
          }
          return ref_permute(x, {1, 0});
        },
        [] {
          std::vector<Sample> s;
          s.push_back(sample({in({5, 4})}, Attrs().s("method", "narrow").i("dim", 0).i("start", 1).i("length", 3),
                             "narrow"));
          s.push_back(sample({in({4, 7}, kT)}, Attrs().s("method", "slice").i("dim", 1).i("start", 1).i("end", 7).i("step", 3),
                             "slice_step3"));
          s.push_back(sample({in({4, 7})}, Attrs().s("method", "slice").i("dim", -1).i("start", -3).i("end", 100),
                             "slice_negative_start"));
          s.push_back(sample({in({3, 4}, kS)}, Attrs().s("method", "select").i("dim", 1).i("index", -1), "select"));
          s.push_back(sample({in({3, 1})}, Attrs().s("method", "expand").shape("shape", {2, 3, 4}), "expand"));
          s.push_back(sample({in({2, 3})}, Attrs().s("method", "t"), "t"));
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
