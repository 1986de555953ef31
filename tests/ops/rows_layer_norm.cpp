// Rows for layer_norm and rms_norm (include/kiln/ops/transformer.h), the op
// of src/ops/layer_norm.cpp, src/cpu/layer_norm_cpu.cpp,
// src/cuda/layer_norm_cuda.cpp and kernels/layer_norm.cu. The references
// are float64 loops written from PyTorch's documentation of
// F.layer_norm and F.rms_norm.
#include <cmath>
#include <limits>

#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// y over the trailing n = numel(w_shape) elements of every row.
Ref ref_norm(const Ref& x, int64_t n, const Ref* w, const Ref* b, double eps, bool rms) {
  Ref y{x.shape, std::vector<double>(x.v.size()), std::nullopt};
  const int64_t rows = n > 0 ? numel_of(x.shape) / n : 0;
  for (int64_t r = 0; r < rows; ++r) {
    const double* xr = x.v.data() + r * n;
    double mean = 0, var = 0;
    if (!rms) {
      for (int64_t i = 0; i < n; ++i) mean += xr[i];
      mean /= static_cast<double>(n);
    }
    for (int64_t i = 0; i < n; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= static_cast<double>(n);
    for (int64_t i = 0; i < n; ++i)
      y.v[r * n + i] = (xr[i] - mean) / std::sqrt(var + eps) * (w ? w->v[i] : 1.0) + (b ? b->v[i] : 0.0);
  }
  return y;
}

double eps_of(const Attrs& a, DType t) {
  if (a.has("eps")) return a.d("eps");
  // rms_norm's default: the machine epsilon of the input's dtype.
  switch (t) {
    case DType::Float16: return 0.0009765625;
    case DType::BFloat16: return 0.0078125;
    case DType::Float64: return std::numeric_limits<double>::epsilon();
    default: return std::numeric_limits<float>::epsilon();
  }
}

// Inputs: x, then weight and bias as the attribute "params" says ("wb",
// "w", or none); normalized_shape is the shape of the weight.
std::vector<Sample> norm_samples(bool rms) {
  std::vector<Sample> s;
  auto add = [&](SampleInput x, Shape norm, const std::string& params, const std::string& tag, double eps = -1) {
    std::vector<SampleInput> inputs{x};
    if (params.find('w') != std::string::npos) inputs.push_back(in(norm));
    if (!rms && params.find('b') != std::string::npos) inputs.push_back(in(norm));
    Attrs a = Attrs().shape("normalized_shape", norm).s("params", params);
    if (eps >= 0) a.d("eps", eps);
    s.push_back(sample(inputs, a, tag + "_" + (params.empty() ? "noaffine" : params)));
  };
  add(in({4, 7}), {7}, "wb", "rows");
  add(in({4, 7}), {7}, "w", "rows");
  add(in({4, 7}), {7}, "", "rows");
  add(in({2, 3, 5}), {3, 5}, "wb", "two_dims");
  add(in({3, 6}, kT), {6}, "wb", "strided");
  add(in({5, 6}, kE), {6}, "wb", "expanded");
  add(in({1, 1}), {1}, "wb", "one");
  add(in({7}), {7}, "wb", "vector");
  add(in({0, 4}), {4}, "wb", "no_rows");
  add(in({3, 9}), {9}, "wb", "eps_large", 0.5);
  add(in({33, 768}), {768}, "wb", "gpt2_width");
  add(in({8, 1100}), {1100}, "w", "long_rows");
  return s;
}

OpRow norm_row(bool rms) {
  OpRow r;
  r.name = rms ? "rms_norm" : "layer_norm";
  r.dtypes = floating_dtypes();
  r.grad = grad_on(1e-5, 1e-3);
  r.tolerances = {{kFloat32, {2e-5, 2e-5}}, {kFloat16, {4e-3, 4e-3}}, {kBFloat16, {2e-2, 3e-2}}};
  r.fn = one_output([rms](const std::vector<Tensor>& v, const Attrs& a) {
    const Shape& norm = a.shape("normalized_shape");
    const std::string& params = a.s("params");
    const Tensor w = params.find('w') != std::string::npos ? v[1] : Tensor();
    if (rms) return a.has("eps") ? rms_norm(v[0], norm, w, a.d("eps")) : rms_norm(v[0], norm, w);
    const Tensor b = params.find('b') != std::string::npos ? v[w.defined() ? 2 : 1] : Tensor();
    return a.has("eps") ? layer_norm(v[0], norm, w, b, a.d("eps")) : layer_norm(v[0], norm, w, b);
  });
  r.ref = one_ref([rms](const std::vector<Ref>& v, const Attrs& a) {
    int64_t n = 1;
    for (int64_t d : a.shape("normalized_shape")) n *= d;
    const std::string& params = a.s("params");
    const Ref* w = params.find('w') != std::string::npos ? &v[1] : nullptr;
    const Ref* b = !rms && params.find('b') != std::string::npos ? &v[w ? 2 : 1] : nullptr;
    const double eps = rms ? eps_of(a, v[0].dtype.value_or(kFloat64)) : (a.has("eps") ? a.d("eps") : 1e-5);
    return ref_norm(v[0], n, w, b, eps, rms);
  });
  r.samples = [rms] { return norm_samples(rms); };
  const char* op = rms ? "rms_norm" : "layer_norm";
  auto call = [rms](const Tensor& x, const Shape& norm, const Tensor& w) {
    return rms ? rms_norm(x, norm, w) : layer_norm(x, norm, w);
  };
  r.errors = {
      error("shape_mismatch", [call] { call(zeros({8, 128, 768}), {512}, Tensor()); }, ErrorKind::Shape,
            {op, "normalized_shape [512]", "[8, 128, 768]"}),
      error("weight_shape", [call] { call(zeros({8, 768}), {768}, zeros({512})); }, ErrorKind::Shape,
            {op, "weight shape [512]", "normalized_shape [768]"}),
      error("weight_dtype", [call] { call(zeros({2, 4}), {4}, zeros({4}, kFloat64)); }, ErrorKind::DType,
            {op, "weight", "float64"}),
      error("integer_input", [call] { call(zeros({2, 4}, kInt64), {4}, Tensor()); }, ErrorKind::DType, {op, "int64"}),
      error("empty_shape", [call] { call(zeros({2, 4}), {}, Tensor()); }, ErrorKind::Value, {op, "normalized_shape"}),
  };
  if (!rms)
    r.errors.push_back(error("negative_eps", [] { layer_norm(zeros({2, 4}), {4}, Tensor(), Tensor(), -1.0); },
                             ErrorKind::Value, {"layer_norm", "eps"}));
  return r;
}

}  // namespace

std::vector<OpRow> layer_norm_rows() { return {norm_row(false), norm_row(true)}; }

}  // namespace kiln::testing
