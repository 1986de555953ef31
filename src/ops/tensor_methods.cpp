// The Tensor methods that are ops: thin forwards to the free functions of
// include/kiln/ops, so x.sum() and kiln::sum(x) are one definition.
#include "kiln/core/tensor.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/linalg.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/inplace.h"
#include "ops/op_util.h"

namespace kiln {

// --- in place ---------------------------------------------------------------
Tensor& Tensor::add_(const Scalar& o) { return add_(scalar_tensor(o, options()), 1); }
Tensor& Tensor::sub_(const Scalar& o) { return sub_(scalar_tensor(o, options()), 1); }
Tensor& Tensor::mul_(const Scalar& o) { return mul_(scalar_tensor(o, options())); }
Tensor& Tensor::div_(const Scalar& o) { return div_(scalar_tensor(o, options())); }

// --- math methods --------------------------------------------------------------
Tensor Tensor::add(const Tensor& o, const Scalar& alpha) const { return kiln::add(*this, o, alpha); }
Tensor Tensor::add(const Scalar& o) const { return *this + o; }
Tensor Tensor::sub(const Tensor& o, const Scalar& alpha) const { return kiln::sub(*this, o, alpha); }
Tensor Tensor::sub(const Scalar& o) const { return *this - o; }
Tensor Tensor::mul(const Tensor& o) const { return kiln::mul(*this, o); }
Tensor Tensor::mul(const Scalar& o) const { return *this * o; }
Tensor Tensor::div(const Tensor& o) const { return kiln::div(*this, o); }
Tensor Tensor::div(const Scalar& o) const { return *this / o; }
Tensor Tensor::square() const { return kiln::mul(*this, *this); }
Tensor Tensor::pow(const Scalar& e) const { return kiln::pow(*this, e); }
Tensor Tensor::pow(const Tensor& e) const { return kiln::pow(*this, e); }
Tensor Tensor::neg() const { return kiln::neg(*this); }
Tensor Tensor::abs() const { return kiln::abs(*this); }
Tensor Tensor::exp() const { return kiln::exp(*this); }
Tensor Tensor::log() const { return kiln::log(*this); }
Tensor Tensor::sqrt() const { return kiln::sqrt(*this); }
Tensor Tensor::rsqrt() const { return kiln::rsqrt(*this); }
Tensor Tensor::tanh() const { return kiln::tanh(*this); }
Tensor Tensor::sigmoid() const { return kiln::sigmoid(*this); }
Tensor Tensor::relu() const { return kiln::relu(*this); }
Tensor Tensor::clamp(std::optional<Scalar> lo, std::optional<Scalar> hi) const { return kiln::clamp(*this, lo, hi); }
Tensor Tensor::eq(const Tensor& o) const { return kiln::eq(*this, o); }
Tensor Tensor::eq(const Scalar& o) const { return *this == o; }
Tensor Tensor::ne(const Tensor& o) const { return kiln::ne(*this, o); }
Tensor Tensor::ne(const Scalar& o) const { return *this != o; }
Tensor Tensor::lt(const Tensor& o) const { return kiln::lt(*this, o); }
Tensor Tensor::lt(const Scalar& o) const { return *this < o; }
Tensor Tensor::le(const Tensor& o) const { return kiln::le(*this, o); }
Tensor Tensor::le(const Scalar& o) const { return *this <= o; }
Tensor Tensor::gt(const Tensor& o) const { return kiln::gt(*this, o); }
Tensor Tensor::gt(const Scalar& o) const { return *this > o; }
Tensor Tensor::ge(const Tensor& o) const { return kiln::ge(*this, o); }
Tensor Tensor::ge(const Scalar& o) const { return *this >= o; }
Tensor Tensor::sum() const { return kiln::sum(*this); }
Tensor Tensor::sum(IntArrayRef dims, bool keepdim) const { return kiln::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return kiln::mean(*this); }
Tensor Tensor::mean(IntArrayRef dims, bool keepdim) const { return kiln::mean(*this, dims, keepdim); }
Tensor Tensor::amax(IntArrayRef dims, bool keepdim) const { return kiln::amax(*this, dims, keepdim); }
Tensor Tensor::amin(IntArrayRef dims, bool keepdim) const { return kiln::amin(*this, dims, keepdim); }
Tensor Tensor::logsumexp(IntArrayRef dims, bool keepdim) const { return kiln::logsumexp(*this, dims, keepdim); }
Tensor Tensor::max() const { return kiln::max(*this); }
Tensor Tensor::min() const { return kiln::min(*this); }
std::tuple<Tensor, Tensor> Tensor::max(int64_t d, bool keepdim) const { return kiln::max(*this, d, keepdim); }
std::tuple<Tensor, Tensor> Tensor::min(int64_t d, bool keepdim) const { return kiln::min(*this, d, keepdim); }
Tensor Tensor::max(const Tensor& other) const { return kiln::maximum(*this, other); }
Tensor Tensor::min(const Tensor& other) const { return kiln::minimum(*this, other); }
Tensor Tensor::argmax(std::optional<int64_t> d, bool keepdim) const { return kiln::argmax(*this, d, keepdim); }
Tensor Tensor::argmin(std::optional<int64_t> d, bool keepdim) const { return kiln::argmin(*this, d, keepdim); }
Tensor Tensor::var(IntArrayRef dims, int64_t correction, bool keepdim) const {
  return kiln::var(*this, dims, correction, keepdim);
}
Tensor Tensor::std(IntArrayRef dims, int64_t correction, bool keepdim) const {
  return kiln::std(*this, dims, correction, keepdim);
}
Tensor Tensor::norm(const Scalar& p) const { return kiln::norm(*this, p); }
Tensor Tensor::norm(std::optional<Scalar> p, IntArrayRef dims, bool keepdim) const {
  return kiln::norm(*this, p.value_or(2), dims, keepdim);
}
Tensor Tensor::softmax(int64_t d) const { return kiln::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return kiln::log_softmax(*this, d); }
Tensor Tensor::matmul(const Tensor& o) const { return kiln::matmul(*this, o); }
Tensor Tensor::bmm(const Tensor& o) const { return kiln::bmm(*this, o); }
std::vector<Tensor> Tensor::chunk(int64_t chunks, int64_t d) const { return kiln::chunk(*this, chunks, d); }
std::vector<Tensor> Tensor::split(int64_t size, int64_t d) const { return kiln::split(*this, size, d); }
std::vector<Tensor> Tensor::split(IntArrayRef sizes, int64_t d) const { return kiln::split(*this, sizes, d); }
std::vector<Tensor> Tensor::split_with_sizes(IntArrayRef sizes, int64_t d) const {
  return kiln::split_with_sizes(*this, sizes, d);
}
// masked_fill with a number is the masked_fill op (src/ops/masked_fill.cpp,
// which validates the mask and the value). With a 0-dim tensor value it is
// where(mask, value, self), so the value gets a gradient as in LibTorch; the
// value may be a CPU tensor for a CUDA self, as LibTorch allows.
Tensor Tensor::masked_fill(const Tensor& mask, const Scalar& value) const { return kiln::masked_fill(*this, mask, value); }
Tensor Tensor::masked_fill(const Tensor& mask, const Tensor& value) const {
  const char* op = "masked_fill";
  detail::check_defined(op, *this, "self");
  detail::check_defined(op, mask, "mask");
  detail::check_defined(op, value, "value");
  detail::check_same_device(op, {this, &mask});
  KILN_CHECK(mask.dtype() == kBool, DTypeError, op, ": mask must be bool, got ", detail::describe(mask));
  KILN_CHECK(broadcast_shapes(mask.sizes(), sizes(), op) == sizes(), ShapeError, op, ": mask ",
             shape_str(mask.sizes()), " must broadcast to the input's shape ", shape_str(sizes()));
  KILN_CHECK(value.dim() == 0, ShapeError, op, ": value must be a 0-dim tensor, got ", detail::describe(value));
  return kiln::where(mask, value.to(device(), dtype()), *this);
}
Tensor& Tensor::masked_fill_(const Tensor& mask, const Scalar& value) {
  detail::check_inplace("masked_fill_", *this, {});
  return copy_(masked_fill(mask, value));
}
Tensor& Tensor::masked_fill_(const Tensor& mask, const Tensor& value) {
  detail::check_inplace("masked_fill_", *this, {&value});
  return copy_(masked_fill(mask, value));
}

Tensor Tensor::index_select(int64_t d, const Tensor& index) const { return kiln::index_select(*this, d, index); }
Tensor Tensor::gather(int64_t d, const Tensor& index) const { return kiln::gather(*this, d, index); }
Tensor Tensor::scatter_add(int64_t d, const Tensor& index, const Tensor& src) const {
  return kiln::scatter_add(*this, d, index, src);
}

}  // namespace kiln
