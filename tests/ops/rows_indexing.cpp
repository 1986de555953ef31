// Rows for include/kiln/ops/indexing.h: joining, splitting, gathering.
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

int64_t wrap(int64_t d, size_t nd) { return d < 0 ? d + static_cast<int64_t>(nd) : d; }

Ref ref_cat(const std::vector<Ref>& parts, int64_t dim) {
  const int64_t d = wrap(dim, parts[0].shape.size());
  Ref out;
  out.shape = parts[0].shape;
  out.shape[d] = 0;
  for (const Ref& p : parts) out.shape[d] += p.shape[d];
  out.v.assign(static_cast<size_t>(numel_of(out.shape)), 0);
  int64_t start = 0;
  for (const Ref& p : parts) {
    for (int64_t i = 0; i < numel_of(p.shape); ++i) {
      auto idx = unravel(i, p.shape);
      idx[d] += start;
      out.v[ravel(idx, out.shape)] = p.v[i];
    }
    start += p.shape[d];
  }
  return out;
}

// Elements of x with index[dim] in [start, start + len).
Ref ref_narrow(const Ref& x, int64_t d, int64_t start, int64_t len) {
  Ref out;
  out.shape = x.shape;
  out.shape[d] = len;
  for (int64_t i = 0; i < numel_of(out.shape); ++i) {
    auto idx = unravel(i, out.shape);
    idx[d] += start;
    out.v.push_back(x.v[ravel(idx, x.shape)]);
  }
  return out;
}

}  // namespace

std::vector<OpRow> indexing_rows() {
  std::vector<OpRow> rows;
  {
    OpRow r;
    r.name = "cat";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return cat(v, a.i("dim")); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) { return ref_cat(v, a.i("dim")); });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::pair<std::vector<SampleInput>, int64_t>> cases = {
          {{in({2, 3}), in({4, 3})}, 0},
          {{in({2, 3}), in({2, 5}, kS), in({2, 1})}, 1},
          {{in({2, 3, 4}, kT), in({2, 3, 4})}, -1},
          {{in({3}), in({0}), in({2})}, 0},
          {{in({2, 0}), in({2, 3})}, 1},
          {{in({5, 6}, kE)}, 0}};
      for (const auto& [inputs, dim] : cases) s.push_back(sample(inputs, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
      // Mixed dtypes promote: cat(float, int64) is float.
      return s;
    };
    r.errors = {error("empty_list", [] { cat({}); }, ErrorKind::Value, {"cat", "non-empty"}),
                error("size_mismatch", [] { cat({zeros({2, 3}), zeros({2, 4})}, 0); }, ErrorKind::Shape,
                      {"cat", "[2, 3]", "[2, 4]"}),
                error("rank_mismatch", [] { cat({zeros({2, 3}), zeros({3})}, 0); }, ErrorKind::Shape, {"cat", "[3]"}),
                error("zero_dim", [] { cat({zeros({}), zeros({})}); }, ErrorKind::Shape, {"cat", "zero-dimensional"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "stack";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return stack(v, a.i("dim")); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const int64_t d = a.i("dim");
      std::vector<Ref> parts = v;
      const int64_t dd = d < 0 ? d + static_cast<int64_t>(v[0].shape.size()) + 1 : d;
      for (Ref& p : parts) p.shape.insert(p.shape.begin() + dd, 1);
      return ref_cat(parts, dd);
    });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::pair<std::vector<SampleInput>, int64_t>> cases = {
          {{in({2, 3}), in({2, 3})}, 0}, {{in({2, 3}), in({2, 3}, kT), in({2, 3})}, 2},
          {{in({}), in({})}, 0},         {{in({4}), in({4}, kS)}, -1}};
      for (const auto& [inputs, dim] : cases) s.push_back(sample(inputs, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
      return s;
    };
    r.errors = {error("size_mismatch", [] { stack({zeros({2}), zeros({3})}); }, ErrorKind::Shape, {"stack", "[2]", "[3]"})};
    rows.push_back(r);
  }
  for (bool is_chunk : {false, true}) {
    OpRow r;
    r.name = is_chunk ? "chunk" : "split";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    // Attribute k: the number of chunks, or the size of each split.
    r.fn = [is_chunk](const std::vector<Tensor>& v, const Attrs& a) {
      return is_chunk ? chunk(v[0], a.i("k"), a.i("dim")) : split(v[0], a.i("k"), a.i("dim"));
    };
    r.ref = [is_chunk](const std::vector<Ref>& v, const Attrs& a) {
      const int64_t kk = a.i("k");
      const int64_t dd = wrap(a.i("dim"), v[0].shape.size());
      const int64_t n = v[0].shape[dd];
      const int64_t size = is_chunk ? std::max<int64_t>((n + kk - 1) / kk, 1) : kk;
      std::vector<Ref> parts;
      if (n == 0) parts.push_back(ref_narrow(v[0], dd, 0, 0));
      for (int64_t start = 0; start < n; start += size) parts.push_back(ref_narrow(v[0], dd, start, std::min(size, n - start)));
      return parts;
    };
    r.samples = [is_chunk] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, int64_t>> cases = {
          {in({7, 3}), 3, 0}, {in({4, 6}, kT), 2, 1}, {in({5}), 5, 0}, {in({5}), 7, 0}, {in({2, 9}, kS), 4, -1},
          {in({0, 3}), 2, 0}};  // a size-0 dim gives one empty part, as in PyTorch
      for (const auto& [input, k, dim] : cases)
        s.push_back(sample({input}, Attrs().i("k", k).i("dim", dim),
                           (is_chunk ? "chunks" : "size") + std::to_string(k) + "_dim" + std::to_string(dim)));
      return s;
    };
    r.errors = {error("bad_size", [is_chunk] { is_chunk ? chunk(zeros({4}), 0) : split(zeros({4}), 0); },
                      ErrorKind::Value, {is_chunk ? "chunk" : "split"}),
                error("zero_dim", [is_chunk] { is_chunk ? chunk(zeros({}), 2) : split(zeros({}), 2); }, ErrorKind::Shape,
                      {is_chunk ? "chunk" : "split", "0-dim"})};
    rows.push_back(r);
  }
  {
    // split(x, {sizes}, dim) and split_with_sizes: pieces of the given lengths.
    OpRow r;
    r.name = "split_with_sizes";
    r.covers = {"split_with_sizes", "split"};
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = [](const std::vector<Tensor>& v, const Attrs& a) {
      return a.b("method") ? v[0].split(a.shape("sizes"), a.i("dim")) : split_with_sizes(v[0], a.shape("sizes"), a.i("dim"));
    };
    r.ref = [](const std::vector<Ref>& v, const Attrs& a) {
      const int64_t dd = wrap(a.i("dim"), v[0].shape.size());
      std::vector<Ref> parts;
      int64_t start = 0;
      for (int64_t len : a.shape("sizes")) {
        parts.push_back(ref_narrow(v[0], dd, start, len));
        start += len;
      }
      return parts;
    };
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, Shape, int64_t>> cases = {
          {in({7, 3}), {2, 5}, 0}, {in({4, 6}, kT), {1, 0, 5}, 1}, {in({5}), {5}, 0}, {in({2, 9}, kS), {3, 3, 3}, -1}};
      for (const auto& [input, sizes, dim] : cases)
        for (bool method : {false, true})
          s.push_back(sample({input}, Attrs().shape("sizes", sizes).i("dim", dim).b("method", method),
                             shape_str(sizes) + "_dim" + std::to_string(dim) + (method ? "_method" : "")));
      return s;
    };
    r.errors = {error("bad_sum", [] { split_with_sizes(zeros({4}), {1, 2}); }, ErrorKind::Value,
                      {"split_with_sizes", "[1, 2]", "sum to 3"}),
                error("negative", [] { split(zeros({4}), {5, -1}); }, ErrorKind::Value, {"split_with_sizes", "non-negative"})};
    rows.push_back(r);
  }
  {
    // nonzero: the coordinates of the non-zero elements, row-major.
    OpRow r;
    r.name = "nonzero";
    r.dtypes = {kFloat32};  // the inputs are fixed, each sample in its own dtype
    r.out_dtype = int64_dtype;
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) { return nonzero(v[0]); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs&) {
      Ref out;
      const int64_t nd = static_cast<int64_t>(v[0].shape.size());
      int64_t count = 0;
      for (int64_t i = 0; i < numel_of(v[0].shape); ++i) {
        if (v[0].v[i] == 0) continue;
        ++count;
        for (int64_t c : unravel(i, v[0].shape)) out.v.push_back(static_cast<double>(c));
      }
      out.shape = {count, nd};
      return out;
    });
    r.samples = [] {
      // Fixed values, so that zeros are present.
      return std::vector<Sample>{
          sample({fixed({2, 3}, {0, 1, 0, 2, 0, 3}, kFloat32)}, Attrs(), "2x3_float32"),
          sample({fixed({2, 3}, {0, -1, 0, 2, 0, 0}, kInt64)}, Attrs(), "2x3_int64"),
          sample({fixed({5}, {1, 0, 1, 1, 0}, kBool)}, Attrs(), "bool"),
          sample({fixed({4}, {0, 0, 0, 0}, kFloat64)}, Attrs(), "all_zero"),
          sample({fixed({}, {5}, kFloat32)}, Attrs(), "0dim"),
          sample({fixed({2, 2, 2}, {1, 0, 0, 1, 1, 1, 0, 0}, kFloat16)}, Attrs(), "3d_float16")};
    };
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "index_select";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return index_select(v[0], a.i("dim"), v[1]); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      Ref x = v[0];
      if (x.shape.empty()) x.shape = {1};
      const int64_t dd = wrap(a.i("dim"), x.shape.size());
      Ref out;
      out.shape = x.shape;
      out.shape[dd] = static_cast<int64_t>(v[1].v.size());
      for (int64_t i = 0; i < numel_of(out.shape); ++i) {
        auto oi = unravel(i, out.shape);
        oi[dd] = static_cast<int64_t>(v[1].v[oi[dd]]);
        out.v.push_back(x.v[ravel(oi, x.shape)]);
      }
      if (v[0].shape.empty()) out.shape = {};
      return out;
    });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, std::vector<double>>> cases = {
          {in({5, 3}), 0, {4, 0, 0, 2}}, {in({3, 6}, kT), 1, {5, 1}}, {in({2, 3, 4}, kS), -1, {3, 3, 3, 0, 1}},
          {in({4}), 0, {}}, {in({}), 0, {0}}, {in({5, 6}, kE), 0, {1, 4}}};
      for (const auto& [input, dim, idx] : cases)
        s.push_back(sample({input, fixed({static_cast<int64_t>(idx.size())}, idx)}, Attrs().i("dim", dim),
                           "dim" + std::to_string(dim)));
      // An int32 index works like int64.
      s.push_back(sample({in({4, 2}), fixed({2}, {3, 1}, kInt32)}, Attrs().i("dim", 0), "int32_index"));
      return s;
    };
    r.errors = {error("out_of_range", [] { index_select(zeros({5, 2}), 0, tensor({0, 5})); }, ErrorKind::Index,
                      {"index_select", "[0, 5)", "5"}),
                error("float_index", [] { index_select(zeros({5}), 0, zeros({2})); }, ErrorKind::DType,
                      {"index_select", "float32"}),
                error("2d_index", [] { index_select(zeros({5}), 0, zeros({2, 2}, kInt64)); }, ErrorKind::Shape,
                      {"index_select", "[2, 2]"}),
                error("scalar_input_many_indices", [] { index_select(zeros({}), 0, tensor({0, 0})); }, ErrorKind::Shape,
                      {"index_select", "0-dim", "2"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "gather";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return gather(v[0], a.i("dim"), v[1]); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      const Ref& x = v[0];
      Ref out;
      out.shape = v[1].shape;
      if (x.shape.empty()) {
        out.v = {x.v[0]};
        return out;
      }
      const int64_t dd = wrap(a.i("dim"), x.shape.size());
      for (int64_t i = 0; i < numel_of(out.shape); ++i) {
        auto oi = unravel(i, out.shape);
        oi[dd] = static_cast<int64_t>(v[1].v[i]);
        out.v.push_back(x.v[ravel(oi, x.shape)]);
      }
      return out;
    });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<SampleInput, int64_t, Shape, std::vector<double>>> cases = {
          {in({3, 4}), 1, {3, 2}, {0, 3, 1, 1, 2, 0}},
          {in({3, 4}, kT), 0, {2, 4}, {2, 0, 1, 1, 0, 0, 2, 1}},
          {in({2, 3, 5}, kS), -1, {2, 2, 1}, {4, 0, 1, 2}},
          {in({4}), 0, {6}, {3, 3, 0, 1, 2, 3}},
          {in({3, 4}), 1, {0, 4}, {}},
          {in({}), 0, {}, {0}}};
      for (const auto& [input, dim, ishape, idx] : cases)
        s.push_back(sample({input, fixed(ishape, idx)}, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
      return s;
    };
    r.errors = {error("rank_mismatch", [] { gather(zeros({3, 4}), 1, zeros({3}, kInt64)); }, ErrorKind::Shape,
                      {"gather", "[3]", "[3, 4]"}),
                error("out_of_range", [] { gather(zeros({3, 4}), 1, full({3, 1}, 4, kInt64)); }, ErrorKind::Index,
                      {"gather", "[0, 4)"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "scatter_add";
    r.dtypes = numeric_dtypes();
    r.grad = grad_on();
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return scatter_add(v[0], a.i("dim"), v[1], v[2]); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      Ref out = v[0];
      out.dtype.reset();
      if (out.shape.empty()) {
        out.v[0] += v[2].v[0];
        return out;
      }
      const int64_t dd = wrap(a.i("dim"), out.shape.size());
      for (int64_t i = 0; i < numel_of(v[1].shape); ++i) {
        auto ii = unravel(i, v[1].shape);
        const double sv = v[2].v[ravel(ii, v[2].shape)];
        ii[dd] = static_cast<int64_t>(v[1].v[i]);
        out.v[ravel(ii, out.shape)] += sv;
      }
      return out;
    });
    r.samples = [] {
      std::vector<Sample> s;
      // (self, dim, index shape, index values, src shape)
      const std::vector<std::tuple<SampleInput, int64_t, Shape, std::vector<double>, SampleInput>> cases = {
          {in({3, 4}), 1, {3, 2}, {0, 3, 1, 1, 2, 0}, in({3, 2})},
          {in({3, 4}, kT), 0, {2, 4}, {2, 0, 1, 1, 0, 0, 2, 2}, in({2, 4}, kS)},
          {in({5}), 0, {6}, {4, 4, 0, 1, 4, 3}, in({6})},
          {in({2, 3}), 1, {2, 2}, {2, 2, 0, 0}, in({2, 3})},  // src larger than index
          {in({}), 0, {}, {0}, in({})}};
      for (const auto& [self, dim, ishape, idx, src] : cases) {
        Sample smp = sample({self, fixed(ishape, idx), src}, Attrs().i("dim", dim), "dim" + std::to_string(dim));
        // The gradient for src needs index and src of one shape.
        if (ishape != src.shape) smp.differentiable = false;
        s.push_back(smp);
      }
      return s;
    };
    r.errors = {error("dtype_mismatch", [] { scatter_add(zeros({3}), 0, zeros({1}, kInt64), zeros({1}, kFloat64)); },
                      ErrorKind::DType, {"scatter_add", "float32", "float64"}),
                error("out_of_range", [] { scatter_add(zeros({3}), 0, full({1}, -1, kInt64), zeros({1})); },
                      ErrorKind::Index, {"scatter_add", "[0, 3)", "-1"})};
    rows.push_back(r);
  }
  {
    OpRow r;
    r.name = "one_hot";
    r.dtypes = {kInt64};  // the labels are fixed inputs; one sample uses int32 labels
    r.out_dtype = int64_dtype;
    r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return one_hot(v[0], a.i("num_classes")); });
    r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
      int64_t n = a.i("num_classes");
      if (n < 0) {
        n = 0;
        for (double l : v[0].v) n = std::max<int64_t>(n, static_cast<int64_t>(l) + 1);
      }
      Ref out;
      out.shape = v[0].shape;
      out.shape.push_back(n);
      for (double l : v[0].v)
        for (int64_t c = 0; c < n; ++c) out.v.push_back(static_cast<int64_t>(l) == c ? 1 : 0);
      return out;
    });
    r.samples = [] {
      std::vector<Sample> s;
      const std::vector<std::tuple<Shape, std::vector<double>, int64_t, DType>> cases = {
          {{4}, {0, 2, 1, 2}, -1, kInt64}, {{2, 3}, {1, 0, 4, 4, 3, 0}, 6, kInt64}, {{}, {2}, 3, kInt64},
          {{0}, {}, 2, kInt64}, {{3}, {1, 0, 1}, 2, kInt32}};
      for (const auto& [shape, labels, k, ldtype] : cases)
        s.push_back(sample({fixed(shape, labels, ldtype)}, Attrs().i("num_classes", k),
                           "classes" + (k < 0 ? std::string("inferred") : std::to_string(k)) + "_" + dtype_name(ldtype)));
      return s;
    };
    r.errors = {error("out_of_range", [] { one_hot(tensor({0, 3}), 3); }, ErrorKind::Index, {"one_hot", "[0, 3)"}),
                error("float_labels", [] { one_hot(zeros({2})); }, ErrorKind::DType, {"one_hot", "float32"})};
    rows.push_back(r);
  }
  return rows;
}

}  // namespace kiln::testing
