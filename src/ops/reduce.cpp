// Reductions: sum, mean, amax/amin, max/min with indices, argmax/argmin,
// var, std, logsumexp, norm.
#include <cmath>
#include <limits>

#include "autograd/derivatives/reduce.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/autocast.h"
#include "ops/op_util.h"

namespace kiln {

using detail::ReduceOp;

namespace {

Shape keepdim_shape(const Tensor& x, const Shape& dims) {
  Shape s = x.sizes();
  for (int64_t d : dims) s[d] = 1;
  return s;
}

Shape drop_dims(const Shape& s, const Shape& dims) {
  Shape out;
  for (int64_t i = 0; i < static_cast<int64_t>(s.size()); ++i)
    if (std::find(dims.begin(), dims.end(), i) == dims.end()) out.push_back(s[i]);
  return out;
}

// Runs a backend reduction; the result has the keepdim shape.
Tensor reduce_keepdim(ReduceOp op, const Tensor& x, const Shape& dims, DType dtype) {
  Tensor out = detail::make_empty(keepdim_shape(x, dims), dtype, x.device());
  if (out.numel() == 0) return out;
  NoGradGuard no_grad;
  detail::backend_of(x).reduce(op, x.detach().to(dtype), dims, out);
  return out;
}

Tensor finish_dims(Tensor r, const Shape& dims, bool keepdim) {
  return keepdim ? r : r.view(drop_dims(r.sizes(), dims));
}

}  // namespace

Tensor sum(const Tensor& x, IntArrayRef dims_in, bool keepdim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return sum(c[0], dims_in, keepdim);
  detail::check_defined("sum", x);
  Shape dims = detail::normalize_dims("sum", dims_in, x.dim());
  // Integer sums accumulate in int64, like PyTorch.
  const DType dtype = is_floating(x.dtype()) ? x.dtype() : kInt64;
  Tensor out = finish_dims(reduce_keepdim(ReduceOp::Sum, x, dims, dtype), dims, keepdim);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::SumBackward>();
    node->input_sizes = x.sizes();
    node->dims = dims;
    node->keepdim = keepdim;
    autograd::set_history(out, node, {&x});
  }
  return out;
}

Tensor mean(const Tensor& x, IntArrayRef dims_in, bool keepdim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return mean(c[0], dims_in, keepdim);
  detail::check_defined("mean", x);
  KILN_CHECK(is_floating(x.dtype()), DTypeError, "mean: expected a floating point input, got ",
             detail::describe(x), "; convert with to(kFloat32)");
  Shape dims = detail::normalize_dims("mean", dims_in, x.dim());
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  // f16/bf16: divide in f32 and round once; dividing by n rounded to f16/bf16
  // would be off by up to 0.4% (bf16 cannot hold 257).
  if (is_low_precision(x.dtype())) return (sum(x.to(kFloat32), dims, keepdim) / static_cast<double>(n)).to(x.dtype());
  return sum(x, dims, keepdim) / static_cast<double>(n);
}

static Tensor amax_amin(const char* name, bool is_max, const Tensor& x, IntArrayRef dims_in, bool keepdim) {
  detail::check_defined(name, x);
  Shape dims = detail::normalize_dims(name, dims_in, x.dim());
  for (int64_t d : dims)
    KILN_CHECK(x.size(d) > 0, ValueError, name, ": cannot reduce over dim ", d, " of size 0 (input ",
               detail::describe(x), ")");
  KILN_CHECK(x.numel() > 0 || !dims.empty(), ValueError, name, ": cannot reduce an empty tensor");
  Tensor r = reduce_keepdim(is_max ? ReduceOp::Max : ReduceOp::Min, x, dims, x.dtype());
  Tensor out = finish_dims(r, dims, keepdim);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::AmaxAminBackward>();
    node->input = autograd::SavedTensor(x);
    node->result = autograd::SavedTensor(r);
    node->dims = dims;
    node->keepdim = keepdim;
    node->is_max = is_max;
    autograd::set_history(out, node, {&x});
  }
  return out;
}

Tensor amax(const Tensor& x, IntArrayRef dims, bool keepdim) { return amax_amin("amax", true, x, dims, keepdim); }
Tensor amin(const Tensor& x, IntArrayRef dims, bool keepdim) { return amax_amin("amin", false, x, dims, keepdim); }
Tensor max(const Tensor& x) { return amax(x); }
Tensor min(const Tensor& x) { return amin(x); }

static Tensor arg_extreme(const char* name, detail::ArgReduceOp op, const Tensor& x, std::optional<int64_t> dim,
                          bool keepdim) {
  detail::check_defined(name, x);
  if (!dim) {
    KILN_CHECK(x.numel() > 0, ValueError, name, ": expected a non-empty input, got ", detail::describe(x));
    Tensor flat = x.reshape({-1});
    Tensor r = arg_extreme(name, op, flat, 0, false);
    return keepdim ? r.reshape(Shape(x.dim(), 1)) : r;
  }
  const int64_t d = detail::wrap_dim(name, *dim, x.dim());
  Tensor xs = x.dim() == 0 ? x.reshape({1}) : x;
  KILN_CHECK(xs.size(d) > 0, ValueError, name, ": cannot reduce over dim ", d, " of size 0 (input ",
             detail::describe(x), ")");
  Tensor out = detail::make_empty(keepdim_shape(xs, {d}), kInt64, x.device());
  if (out.numel() > 0) detail::backend_of(x).arg_reduce(op, xs.detach(), d, out);
  if (x.dim() == 0) return out.reshape({});
  return finish_dims(out, {d}, keepdim);
}

Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme("argmax", detail::ArgReduceOp::ArgMax, x, dim, keepdim);
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme("argmin", detail::ArgReduceOp::ArgMin, x, dim, keepdim);
}

static std::tuple<Tensor, Tensor> max_min_dim(const char* name, bool is_max, const Tensor& x, int64_t dim, bool keepdim) {
  detail::check_defined(name, x);
  const int64_t d = detail::wrap_dim(name, dim, x.dim());
  Tensor idx_keep = arg_extreme(name, is_max ? detail::ArgReduceOp::ArgMax : detail::ArgReduceOp::ArgMin, x, d, true);
  Tensor values;
  {
    NoGradGuard no_grad;
    values = x.dim() == 0 ? x.clone() : x.gather(d, idx_keep);
  }
  if (!keepdim && x.dim() > 0) values = values.squeeze(d);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::MaxMinDimBackward>();
    node->indices = autograd::SavedTensor(idx_keep);
    node->input_sizes = x.sizes();
    node->dim = d;
    node->keepdim = keepdim || x.dim() == 0;
    values = values.detach();
    autograd::set_history(values, node, {&x});
  }
  return {values, keepdim || x.dim() == 0 ? idx_keep : idx_keep.squeeze(d)};
}

std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return max_min_dim("max", true, x, dim, keepdim);
}
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return max_min_dim("min", false, x, dim, keepdim);
}

namespace {
// var and std share this; `op` names the public function in errors.
Tensor variance(const char* op, const Tensor& x, IntArrayRef dims_in, int64_t correction, bool keepdim) {
  detail::check_defined(op, x);
  detail::check_floating(op, x);
  Shape dims = detail::normalize_dims(op, dims_in, x.dim());
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  // Two passes (mean, then squared deviations): stable, and differentiable
  // through the ops it is made of.
  Tensor centered = x - mean(x, dims, /*keepdim=*/true);
  const double denom = static_cast<double>(std::max<int64_t>(n - correction, 0));
  return sum(centered * centered, dims, keepdim) / denom;
}
}  // namespace

Tensor var(const Tensor& x, IntArrayRef dims, int64_t correction, bool keepdim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return var(c[0], dims, correction, keepdim);
  return variance("var", x, dims, correction, keepdim);
}

Tensor std(const Tensor& x, IntArrayRef dims, int64_t correction, bool keepdim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return std(c[0], dims, correction, keepdim);
  return sqrt(variance("std", x, dims, correction, keepdim));
}

Tensor logsumexp(const Tensor& x, IntArrayRef dims_in, bool keepdim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return logsumexp(c[0], dims_in, keepdim);
  detail::check_defined("logsumexp", x);
  detail::check_floating("logsumexp", x);
  Shape dims = detail::normalize_dims("logsumexp", dims_in, x.dim());
  int64_t n = 1;
  for (int64_t d : dims) n *= x.size(d);
  // An empty reduction is log(0) = -inf, as in PyTorch (amax would refuse it).
  // The sum keeps the result in the graph; its gradient is empty like x.
  if (n == 0) return sum(x, dims, keepdim) + (-std::numeric_limits<double>::infinity());
  Tensor m = amax(x, dims, /*keepdim=*/true).detach();
  // A row of -inf would give inf - inf; shift by 0 there instead.
  m = where(abs(m) == std::numeric_limits<double>::infinity(), zeros_like(m), m);
  Tensor r = log(sum(exp(x - m), dims, /*keepdim=*/true)) + m;
  if (keepdim) return r;
  return r.view(drop_dims(r.sizes(), dims));
}

Tensor norm(const Tensor& x, const Scalar& p_in, IntArrayRef dims_in, bool keepdim) {
  if (auto c = detail::autocast(detail::CastPolicy::Float32, {&x})) return norm(c[0], p_in, dims_in, keepdim);
  detail::check_defined("norm", x);
  KILN_CHECK(is_floating(x.dtype()), DTypeError, "norm: expected a floating point input, got ", detail::describe(x),
             "; convert with to(kFloat32)");
  const double p = p_in.to_double();
  KILN_CHECK(!std::isnan(p), ValueError, "norm: p must be a number, got nan");
  Shape dims = detail::normalize_dims("norm", dims_in, x.dim());
  const double inf = std::numeric_limits<double>::infinity();
  Tensor r;  // keepdim shape, computed without history in opmath
  {
    NoGradGuard no_grad;
    Tensor xf = is_low_precision(x.dtype()) ? x.to(kFloat32) : x.detach();
    Tensor a = abs(xf);
    if (p == inf || p == -inf) {
      r = p > 0 ? amax(a, dims, true) : amin(a, dims, true);
    } else if (p == 0) {
      r = sum(ne(a, zeros_like(a)).to(xf.dtype()), dims, true);
    } else if (p == 1) {
      r = sum(a, dims, true);
    } else if (p == 2) {
      r = sqrt(sum(xf * xf, dims, true));
    } else {
      r = pow(sum(pow(a, p), dims, true), 1.0 / p);
    }
    r = r.to(x.dtype());
  }
  Tensor out = finish_dims(r, dims, keepdim);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::NormBackward>();
    node->input = autograd::SavedTensor(x);
    node->result = autograd::SavedTensor(r);
    node->dims = dims;
    node->keepdim = keepdim;
    node->p = p;
    out = out.detach();
    autograd::set_history(out, node, {&x});
  }
  return out;
}

}  // namespace kiln
