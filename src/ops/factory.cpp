// Tensor factories: constant, ranges, random, from host memory.
#include "kiln/ops/factory.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "core/shape_check.h"
#include "core/tensor_impl.h"
#include "kiln/core/generator.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/math.h"
#include "ops/inplace.h"
#include "ops/op_util.h"

namespace kiln {

using detail::make_empty;

namespace {
Tensor finish(Tensor t, const TensorOptions& opts) {
  if (opts.requires_grad()) t.requires_grad_(true);
  return t;
}
void check_random_dtype(const char* op, DType d) {
  KILN_CHECK(is_floating(d), DTypeError, op, ": expected a floating point dtype, got ", d);
}
}  // namespace

Tensor empty(IntArrayRef shape, const TensorOptions& opts) {
  return finish(make_empty(shape, opts.dtype(), opts.device()), opts);
}
Tensor empty(const Shape& shape, const TensorOptions& opts) { return empty(IntArrayRef(shape), opts); }
Tensor empty(std::initializer_list<int64_t> shape, const TensorOptions& opts) { return empty(IntArrayRef(shape), opts); }

Tensor full(IntArrayRef shape, const Scalar& value, const TensorOptions& opts) {
  Tensor t = make_empty(shape, opts.dtype(), opts.device());
  if (t.numel() > 0) detail::backend_of(t).fill(t, value);
  return finish(t, opts);
}
Tensor zeros(IntArrayRef shape, const TensorOptions& opts) { return full(shape, 0, opts); }
Tensor ones(IntArrayRef shape, const TensorOptions& opts) { return full(shape, 1, opts); }
// The fields opts sets win over t's (requires_grad is never taken from t).
static TensorOptions like(const Tensor& t, const TensorOptions& opts) {
  detail::check_defined("*_like", t);
  return opts.or_from(t.options());
}
Tensor zeros_like(const Tensor& t, const TensorOptions& opts) { return zeros(t.sizes(), like(t, opts)); }
Tensor ones_like(const Tensor& t, const TensorOptions& opts) { return ones(t.sizes(), like(t, opts)); }
Tensor empty_like(const Tensor& t, const TensorOptions& opts) { return empty(t.sizes(), like(t, opts)); }
Tensor full_like(const Tensor& t, const Scalar& value, const TensorOptions& opts) {
  return full(t.sizes(), value, like(t, opts));
}

Tensor scalar_tensor(const Scalar& value, const TensorOptions& opts) { return full({}, value, opts); }

Tensor arange(const Scalar& end, const TensorOptions& opts) { return arange(0, end, 1, opts); }

Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step, const TensorOptions& opts) {
  // Floating arguments with the default int64 options give float32, like PyTorch.
  TensorOptions o = opts;
  if ((start.is_floating() || end.is_floating() || step.is_floating()) && opts.dtype() == kInt64)
    o = opts.dtype(kFloat32);
  const double s = start.to_double(), e = end.to_double(), st = step.to_double();
  KILN_CHECK(st != 0, ValueError, "arange: step must be nonzero");
  KILN_CHECK((st > 0 && e >= s) || (st < 0 && e <= s), ValueError, "arange: upper bound ", e,
             " and lower bound ", s, " are inconsistent with step sign ", st);
  const double count = std::ceil((e - s) / st);
  // Converting a double past int64's range is undefined: refuse it first.
  KILN_CHECK(std::isfinite(count) && count < 9.2e18, ValueError, "arange: [", s, ", ", e, ") with step ", st,
             " holds ", count, " elements, more than a tensor can");
  const int64_t n = static_cast<int64_t>(count);
  detail::check_computable("arange", o.dtype());
  Tensor t = make_empty({n}, o.dtype(), o.device());
  if (n > 0) detail::backend_of(t).arange(t, s, st);
  return finish(t, o);
}

Tensor linspace(double start, double end, int64_t steps, const TensorOptions& opts) {
  KILN_CHECK(steps >= 0, ValueError, "linspace: number of steps must be non-negative, got ", steps);
  KILN_CHECK(opts.dtype() != kBool, DTypeError, "linspace: bool is not supported; use a numeric dtype");
  if (!is_floating(opts.dtype())) {
    // Integers: like PyTorch, the points are computed in floating point and
    // truncated. The second half counts back from `end`, so the last point is
    // exactly `end` (start + (steps-1)*step can land just below an integer).
    std::vector<double> points(static_cast<size_t>(steps));
    const double step = steps > 1 ? (end - start) / double(steps - 1) : 0.0;
    for (int64_t i = 0; i < steps; ++i)
      points[static_cast<size_t>(i)] = i < steps / 2 ? start + step * double(i) : end - step * double(steps - 1 - i);
    if (steps == 1) points[0] = start;
    return finish(tensor(points, {steps}, kFloat64).to(opts.dtype()).to(opts.device()), opts);
  }
  Tensor t = make_empty({steps}, opts.dtype(), opts.device());
  if (steps > 0) detail::backend_of(t).arange(t, start, steps == 1 ? 0.0 : (end - start) / double(steps - 1));
  return finish(t, opts);
}

Tensor eye(int64_t n, const TensorOptions& opts) { return eye(n, n, opts); }

Tensor eye(int64_t n, int64_t m, const TensorOptions& opts) {
  KILN_CHECK(n >= 0 && m >= 0, ValueError, "eye: sizes must be non-negative, got ", n, " x ", m);
  Tensor t = zeros({n, m}, opts.requires_grad(false));
  const int64_t k = std::min(n, m);
  if (k > 0) {
    Tensor diag = t.as_strided({k}, {m + 1}, 0);
    detail::backend_of(t).fill(diag, 1);
  }
  return finish(t, opts);
}

Tensor rand(IntArrayRef shape, const TensorOptions& opts) {
  check_random_dtype("rand", opts.dtype());
  Tensor t = make_empty(shape, opts.dtype(), opts.device());
  auto state = detail::reserve_philox_blocks((t.numel() + 1) / 2);
  if (t.numel() > 0) detail::backend_of(t).uniform(t, 0.0, 1.0, state);
  return finish(t, opts);
}

Tensor randn(IntArrayRef shape, const TensorOptions& opts) {
  check_random_dtype("randn", opts.dtype());
  Tensor t = make_empty(shape, opts.dtype(), opts.device());
  auto state = detail::reserve_philox_blocks((t.numel() + 1) / 2);
  if (t.numel() > 0) detail::backend_of(t).normal(t, 0.0, 1.0, state);
  return finish(t, opts);
}

Tensor randint(int64_t low, int64_t high, IntArrayRef shape, const TensorOptions& opts) {
  KILN_CHECK(high > low, ValueError, "randint: empty range [", low, ", ", high, ")");
  detail::check_computable("randint", opts.dtype());
  Tensor t = make_empty(shape, opts.dtype(), opts.device());
  auto state = detail::reserve_philox_blocks((t.numel() + 1) / 2);
  if (t.numel() > 0) detail::backend_of(t).randint(t, low, high, state);
  return finish(t, opts);
}

Tensor randperm(int64_t n, const TensorOptions& opts) {
  KILN_CHECK(n >= 0, ValueError, "randperm: n must be non-negative, got ", n);
  // Fisher-Yates driven by Philox integers, on the CPU; then moved.
  Tensor keys = randint(0, std::numeric_limits<int32_t>::max(), {n}, kInt64);
  std::vector<int64_t> perm(n);
  const int64_t* k = keys.data_ptr<int64_t>();
  for (int64_t i = 0; i < n; ++i) perm[i] = i;
  for (int64_t i = n - 1; i > 0; --i) std::swap(perm[i], perm[k[i] % (i + 1)]);
  return tensor(perm, {n}, kInt64).to(opts.dtype()).to(opts.device());
}

Tensor rand_like(const Tensor& t, const TensorOptions& opts) { return rand(t.sizes(), like(t, opts)); }
Tensor randn_like(const Tensor& t, const TensorOptions& opts) { return randn(t.sizes(), like(t, opts)); }

Tensor bernoulli(const Tensor& p) {
  detail::check_defined("bernoulli", p);
  check_random_dtype("bernoulli", p.dtype());
  return lt(rand(p.sizes(), p.options()), p.detach()).to(p.dtype());
}

template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape, const TensorOptions& opts) {
  Shape s = shape.empty() ? Shape{static_cast<int64_t>(values.size())} : shape;
  KILN_CHECK(detail::checked_numel("tensor", s) == static_cast<int64_t>(values.size()), ShapeError, "tensor: ", values.size(),
             " values cannot fill shape ", shape_str(s));
  Tensor host = make_empty(s, dtype_of_v<T>, Device(kCPU));
  if (!values.empty()) std::memcpy(host.raw_data_ptr(), values.data(), values.size() * sizeof(T));
  return finish(host.to(opts.dtype()).to(opts.device()), opts);
}
template Tensor tensor(const std::vector<float>&, const Shape&, const TensorOptions&);
template Tensor tensor(const std::vector<double>&, const Shape&, const TensorOptions&);
template Tensor tensor(const std::vector<int32_t>&, const Shape&, const TensorOptions&);
template Tensor tensor(const std::vector<int64_t>&, const Shape&, const TensorOptions&);
template Tensor tensor(const std::vector<uint8_t>&, const Shape&, const TensorOptions&);
template Tensor tensor(const std::vector<Half>&, const Shape&, const TensorOptions&);
template Tensor tensor(const std::vector<BFloat16>&, const Shape&, const TensorOptions&);

Tensor tensor(std::initializer_list<float> values, const TensorOptions& opts) {
  return tensor(std::vector<float>(values), {}, opts);
}
Tensor tensor(std::initializer_list<double> values, const TensorOptions& opts) {
  return tensor(std::vector<double>(values), {}, opts);
}
Tensor tensor(std::initializer_list<int> values, const TensorOptions& opts) {
  std::vector<int64_t> v(values.begin(), values.end());
  return tensor(v, {}, opts);
}

Tensor from_blob(void* data, const Shape& shape, const Shape& strides, const TensorOptions& opts) {
  const int64_t extent = detail::checked_extent("from_blob", shape, strides, 0, element_size(opts.dtype()));
  auto storage = std::make_shared<detail::Storage>(data, static_cast<size_t>(extent) * element_size(opts.dtype()),
                                                   opts.device(), nullptr);
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = std::move(storage);
  impl->sizes = shape;
  impl->strides = strides;
  impl->numel = detail::checked_numel("from_blob", shape);
  impl->dtype = opts.dtype();
  return finish(Tensor(std::move(impl)), opts);
}

Tensor from_blob(void* data, const Shape& shape, const TensorOptions& opts) {
  return from_blob(data, shape, detail::contiguous_strides(shape), opts);
}

Tensor from_blob(void* data, const Shape& shape, std::function<void(void*)> deleter, const TensorOptions& opts) {
  Tensor t = from_blob(data, shape, opts);
  t.unsafe_impl()->storage->deleter = std::move(deleter);
  return t;
}

}  // namespace kiln

namespace kiln {

// In-place random fills: the new values replace the old, so a tensor with
// history becomes a constant (as fill_ does).
static Tensor& fill_from(Tensor& self, const Tensor& values) {
  {
    NoGradGuard no_grad;
    self.copy_(values);
  }
  if (self.requires_grad() && GradMode::is_enabled()) {
    self.unsafe_impl()->meta().grad_fn = nullptr;
    self.unsafe_impl()->meta().requires_grad = false;
  }
  return self;
}

Tensor& Tensor::uniform_(double from, double to) {
  detail::check_defined("uniform_", *this, "self");
  check_random_dtype("uniform_", dtype());
  KILN_CHECK(from <= to, ValueError, "uniform_: expects from <= to, got from=", from, " to=", to);
  detail::check_inplace("uniform_", *this, {});
  Tensor v;
  {
    NoGradGuard no_grad;
    // f16/bf16 draw in f32 and round once, after scaling.
    v = rand(sizes(), TensorOptions(dtype() == kFloat64 ? kFloat64 : kFloat32).device(device())) * (to - from) + from;
  }
  return fill_from(*this, v);
}

Tensor& Tensor::normal_(double mean, double std) {
  detail::check_defined("normal_", *this, "self");
  check_random_dtype("normal_", dtype());
  KILN_CHECK(std >= 0, ValueError, "normal_: expects std >= 0, got ", std);
  detail::check_inplace("normal_", *this, {});
  Tensor v;
  {
    NoGradGuard no_grad;
    v = randn(sizes(), TensorOptions(dtype() == kFloat64 ? kFloat64 : kFloat32).device(device())) * std + mean;
  }
  return fill_from(*this, v);
}

}  // namespace kiln
