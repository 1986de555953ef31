// Op table helpers: reference arithmetic on plain vectors, input makers,
// and the registry of row families.
#include "ops/op_table.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <sstream>

namespace kiln::testing {

// --- the registry: one line per family ----------------------------------------------------
namespace {
using RowFamily = std::vector<OpRow> (*)();
const RowFamily kRowFamilies[] = {
    elementwise_rows,
    reduction_rows,
    linalg_rows,
    indexing_rows,
    shape_rows,
    factory_rows,
    nn_rows,
    softmax_rows,
    cross_entropy_rows,
    batch_norm_rows,
    conv2d_rows,
    pool2d_rows,
    layer_norm_rows,
    embedding_rows,
    attention_rows,
    cumsum_rows,
    sort_rows,
    multinomial_rows,
    masked_fill_rows,
    multi_tensor_norm_rows,
    image_rows,
};
}  // namespace

const std::vector<OpRow>& all_rows() {
  static const std::vector<OpRow> rows = [] {
    std::vector<OpRow> all;
    for (RowFamily family : kRowFamilies) {
      for (OpRow& r : family()) {
        if (r.covers.empty()) r.covers = {r.name};
        if (!r.out_dtype) r.out_dtype = same_dtype;
        KILN_INTERNAL_ASSERT(r.fn && r.ref, "op table: row ", r.name, " needs fn and ref");
        all.push_back(std::move(r));
      }
    }
    return all;
  }();
  return rows;
}

const std::vector<Sample>& samples_of(const OpRow& row) {
  static std::map<std::string, std::vector<Sample>> cache;
  auto it = cache.find(row.name);
  if (it != cache.end()) return it->second;
  std::vector<Sample> samples = row.samples();
  std::map<std::string, int> seen;
  for (Sample& s : samples) {
    if (s.name.empty()) s.name = describe_inputs(s.inputs);
    const int n = seen[s.name]++;
    if (n > 0) s.name += "_" + std::to_string(n);
  }
  return cache.emplace(row.name, std::move(samples)).first->second;
}

// --- attributes -----------------------------------------------------------------------------
template <class T>
const T& Attrs::get(const std::string& key) const {
  auto it = values_.find(key);
  KILN_INTERNAL_ASSERT(it != values_.end(), "op table: the sample has no attribute \"", key, "\"");
  const T* v = std::get_if<T>(&it->second);
  KILN_INTERNAL_ASSERT(v != nullptr, "op table: attribute \"", key, "\" has another type");
  return *v;
}
template const bool& Attrs::get<bool>(const std::string&) const;
template const int64_t& Attrs::get<int64_t>(const std::string&) const;
template const std::string& Attrs::get<std::string>(const std::string&) const;
template const Shape& Attrs::get<Shape>(const std::string&) const;
template const std::vector<double>& Attrs::get<std::vector<double>>(const std::string&) const;

double Attrs::d(const std::string& key) const {
  auto it = values_.find(key);
  if (it != values_.end())
    if (const int64_t* v = std::get_if<int64_t>(&it->second)) return static_cast<double>(*v);
  return get<double>(key);
}

// --- reference arithmetic -------------------------------------------------------------------
int64_t numel_of(const Shape& s) {
  int64_t n = 1;
  for (int64_t v : s) n *= v;
  return n;
}

Shape contiguous_strides_of(const Shape& s) {
  Shape st(s.size());
  int64_t acc = 1;
  for (size_t i = s.size(); i-- > 0;) {
    st[i] = acc;
    acc *= std::max<int64_t>(s[i], 1);
  }
  return st;
}

std::vector<int64_t> unravel(int64_t i, const Shape& s) {
  std::vector<int64_t> idx(s.size());
  for (size_t d = s.size(); d-- > 0;) {
    idx[d] = s[d] ? i % s[d] : 0;
    i = s[d] ? i / s[d] : 0;
  }
  return idx;
}

int64_t ravel(const std::vector<int64_t>& idx, const Shape& s) {
  int64_t i = 0;
  for (size_t d = 0; d < s.size(); ++d) i = i * s[d] + idx[d];
  return i;
}

Shape broadcast(const Shape& a, const Shape& b) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i + a.size() >= n ? a[i + a.size() - n] : 1;
    const int64_t db = i + b.size() >= n ? b[i + b.size() - n] : 1;
    out[i] = da == 1 ? db : da;
  }
  return out;
}

double at_broadcast(const Ref& r, const std::vector<int64_t>& idx) {
  const size_t lead = idx.size() - r.shape.size();
  int64_t flat = 0;
  for (size_t d = 0; d < r.shape.size(); ++d) flat = flat * r.shape[d] + (r.shape[d] == 1 ? 0 : idx[lead + d]);
  return r.v[static_cast<size_t>(flat)];
}

Ref map1(const Ref& a, const std::function<double(double)>& f) {
  Ref out{a.shape, {}, std::nullopt};
  for (double x : a.v) out.v.push_back(f(x));
  return out;
}

Ref map2(const Ref& a, const Ref& b, const std::function<double(double, double)>& f) {
  Ref out{broadcast(a.shape, b.shape), {}, std::nullopt};
  for (int64_t i = 0; i < numel_of(out.shape); ++i) {
    auto idx = unravel(i, out.shape);
    out.v.push_back(f(at_broadcast(a, idx), at_broadcast(b, idx)));
  }
  return out;
}

Ref map3(const Ref& a, const Ref& b, const Ref& c, const std::function<double(double, double, double)>& f) {
  Ref out{broadcast(broadcast(a.shape, b.shape), c.shape), {}, std::nullopt};
  for (int64_t i = 0; i < numel_of(out.shape); ++i) {
    auto idx = unravel(i, out.shape);
    out.v.push_back(f(at_broadcast(a, idx), at_broadcast(b, idx), at_broadcast(c, idx)));
  }
  return out;
}

Shape wrap_dims(Shape dims, int64_t ndim) {
  if (dims.empty())
    for (int64_t d = 0; d < ndim; ++d) dims.push_back(d);
  for (int64_t& d : dims)
    if (d < 0) d += ndim;
  std::sort(dims.begin(), dims.end());
  return dims;
}

Ref reduce_ref(const Ref& a, Shape dims, bool keepdim, const std::function<double(const std::vector<double>&)>& f) {
  const int64_t nd = static_cast<int64_t>(a.shape.size());
  dims = wrap_dims(dims, nd);
  auto reduced = [&](int64_t d) { return std::find(dims.begin(), dims.end(), d) != dims.end(); };
  Shape kshape = a.shape;
  for (int64_t d : dims) kshape[d] = 1;
  std::vector<std::vector<double>> groups(static_cast<size_t>(numel_of(kshape)));
  for (int64_t i = 0; i < numel_of(a.shape); ++i) {
    auto idx = unravel(i, a.shape);
    for (int64_t d = 0; d < nd; ++d)
      if (reduced(d)) idx[d] = 0;
    groups[static_cast<size_t>(ravel(idx, kshape))].push_back(a.v[static_cast<size_t>(i)]);
  }
  Ref out;
  for (const auto& g : groups) out.v.push_back(f(g));
  if (keepdim) {
    out.shape = kshape;
  } else {
    for (int64_t d = 0; d < nd; ++d)
      if (!reduced(d)) out.shape.push_back(a.shape[d]);
  }
  return out;
}

// --- dtypes and tolerances -------------------------------------------------------------------
std::vector<DType> floating_dtypes() { return {kFloat32, kFloat64, kFloat16, kBFloat16}; }
std::vector<DType> numeric_dtypes() { return {kFloat32, kFloat64, kFloat16, kBFloat16, kInt32, kInt64}; }
DType same_dtype(DType t) { return t; }
DType bool_dtype(DType) { return kBool; }
DType int64_dtype(DType) { return kInt64; }
DType float_or_same(DType t) { return is_floating(t) ? t : kFloat32; }

Tolerance default_tolerance(DType t) {
  switch (t) {
    case DType::Float64: return {1e-10, 1e-12};
    case DType::Float32: return {1e-5, 1e-6};
    case DType::Float16: return {2e-3, 2e-3};
    case DType::BFloat16: return {1.6e-2, 1.6e-2};
    default: return {0, 0};
  }
}

Tolerance tolerance_for(const OpRow& row, DType t) {
  for (const auto& [d, tol] : row.tolerances)
    if (d == t) return tol;
  return default_tolerance(t);
}

const Skip* find_skip(const OpRow& row, const std::string& device, DType dtype, const std::string& sample) {
  for (const Skip& s : row.skips) {
    if (!s.device.empty() && s.device != device) continue;
    if (s.dtype && *s.dtype != dtype) continue;
    if (!s.sample_contains.empty() && sample.find(s.sample_contains) == std::string::npos) continue;
    return &s;
  }
  return nullptr;
}

// --- inputs --------------------------------------------------------------------------------------
namespace {
double draw(Domain d, bool integral, std::mt19937& rng) {
  std::uniform_real_distribution<double> u(0.0, 1.0);
  const double x = u(rng);
  const bool neg = u(rng) < 0.5;
  if (integral) {
    const double k = 1 + std::floor(x * 9);  // 1..9
    switch (d) {
      case Domain::Any: return std::floor(x * 19) - 9;
      case Domain::Positive: return k;
      case Domain::NonZero: return neg ? -k : k;
      case Domain::Unit: return 0;
      case Domain::Large: return std::floor(x * 19) - 9;
    }
  }
  switch (d) {
    case Domain::Any: return -2 + 4 * x;
    case Domain::Positive: return 0.2 + 2.8 * x;
    case Domain::NonZero: return (neg ? -1 : 1) * (0.3 + 1.7 * x);
    case Domain::Unit: return -0.9 + 1.8 * x;
    case Domain::Large: return -1000 + 2000 * x;
  }
  return x;
}

Tensor fill_values(const Shape& shape, const std::vector<double>& values, DType dtype, const Device& device) {
  return tensor(values, shape.empty() ? Shape{1} : shape, kFloat64).reshape(shape).to(dtype).to(device);
}
}  // namespace

Tensor make_input(const SampleInput& in, Domain row_domain, DType dtype, const Device& device, std::mt19937& rng) {
  if (in.fixed) {
    KILN_INTERNAL_ASSERT(numel_of(in.shape) == static_cast<int64_t>(in.fixed->size()), "fixed input size");
    return fill_values(in.shape, *in.fixed, in.fixed_dtype, device);
  }
  const Domain domain = in.domain.value_or(row_domain);
  const bool integral = !is_floating(dtype);
  // The values are drawn for the shape actually stored, so an expanded
  // input draws only its un-expanded slice.
  Shape stored = in.shape;
  int64_t expand_dim = -1;
  if (in.layout == Layout::Expanded) {
    for (size_t d = 0; d < stored.size(); ++d) {
      if (stored[d] > 1) {
        expand_dim = static_cast<int64_t>(d);
        stored[d] = 1;
        break;
      }
    }
  }
  std::vector<double> values(static_cast<size_t>(numel_of(stored)));
  for (double& v : values) v = draw(domain, integral, rng);
  Tensor base = fill_values(stored, values, dtype, device);
  switch (in.layout) {
    case Layout::Contiguous: return base;
    case Layout::Transposed: {
      KILN_INTERNAL_ASSERT(in.shape.size() >= 2, "transposed layout needs rank >= 2");
      Tensor t = base.transpose(-1, -2).contiguous().transpose(-1, -2);
      KILN_INTERNAL_ASSERT(!t.is_contiguous() || numel_of(in.shape) <= 1 || in.shape.back() == 1 ||
                               in.shape[in.shape.size() - 2] == 1,
                           "transposed layout came out contiguous");
      return t;
    }
    case Layout::Sliced: {
      KILN_INTERNAL_ASSERT(!in.shape.empty(), "sliced layout needs rank >= 1");
      Shape wide = in.shape;
      wide.back() *= 2;
      Tensor buffer = zeros(wide, TensorOptions(dtype).device(device));
      Tensor view = buffer.slice(-1, 0, wide.back(), 2);
      view.copy_(base);
      return view;
    }
    case Layout::Expanded:
      if (expand_dim < 0) return base;
      return base.expand(in.shape);
  }
  return base;
}

Ref to_ref(const Tensor& t) {
  NoGradGuard no_grad;
  return Ref{t.sizes(), t.to_vector<double>(), t.dtype()};
}

std::string describe_inputs(const std::vector<SampleInput>& inputs, const std::string& extra) {
  std::ostringstream os;
  bool layout_noted = false;
  for (size_t i = 0; i < inputs.size(); ++i) {
    os << (i ? "_" : "") << static_cast<char>('a' + i) << shape_str(inputs[i].shape);
    switch (inputs[i].layout) {
      case Layout::Contiguous: break;
      case Layout::Transposed: os << "T"; layout_noted = true; break;
      case Layout::Sliced: os << "S"; layout_noted = true; break;
      case Layout::Expanded: os << "E"; layout_noted = true; break;
    }
  }
  if (layout_noted) os << "_noncontig";
  if (!extra.empty()) os << "_" << extra;
  std::string s = os.str();
  s.erase(std::remove(s.begin(), s.end(), ' '), s.end());
  return s;
}

std::string sanitize(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (std::isalnum(static_cast<unsigned char>(c)) || c == '_') out += c;
    else if (c == ',') out += 'x';
    else if (c == '-') out += 'm';
    else if (c == '/' || c == '.' || c == ':') out += '_';
    // '[' and ']' are dropped
  }
  return out;
}

}  // namespace kiln::testing
