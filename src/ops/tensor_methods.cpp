// The Tensor methods that are ops: thin forwards to the free functions of
// include/kiln/ops, so x.sum() and kiln::sum(x) are one definition.
#include "kiln/core/tensor.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/linalg.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln {

// --- in place ---------------------------------------------------------------
Tensor& Tensor::add_(const Scalar& o) { return add_(scalar_tensor(o, options()), 1); }
Tensor& Tensor::sub_(const Scalar& o) { return sub_(scalar_tensor(o, options()), 1); }
Tensor& Tensor::mul_(const Scalar& o) { return mul_(scalar_tensor(o, options())); }
Tensor& Tensor::div_(const Scalar& o) { return div_(scalar_tensor(o, options())); }

// --- math methods --------------------------------------------------------------
Tensor Tensor::add(const Tensor& o) const { return kiln::add(*this, o); }
Tensor Tensor::sub(const Tensor& o) const { return kiln::sub(*this, o); }
Tensor Tensor::mul(const Tensor& o) const { return kiln::mul(*this, o); }
Tensor Tensor::div(const Tensor& o) const { return kiln::div(*this, o); }
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
Tensor Tensor::sum() const { return kiln::sum(*this); }
Tensor Tensor::sum(const Shape& dims, bool keepdim) const { return kiln::sum(*this, dims, keepdim); }
Tensor Tensor::mean() const { return kiln::mean(*this); }
Tensor Tensor::mean(const Shape& dims, bool keepdim) const { return kiln::mean(*this, dims, keepdim); }
Tensor Tensor::max() const { return kiln::max(*this); }
Tensor Tensor::min() const { return kiln::min(*this); }
Tensor Tensor::argmax(std::optional<int64_t> d, bool keepdim) const { return kiln::argmax(*this, d, keepdim); }
Tensor Tensor::argmin(std::optional<int64_t> d, bool keepdim) const { return kiln::argmin(*this, d, keepdim); }
Tensor Tensor::var(const Shape& dims, int64_t correction, bool keepdim) const {
  return kiln::var(*this, dims, correction, keepdim);
}
Tensor Tensor::std(const Shape& dims, int64_t correction, bool keepdim) const {
  return kiln::std(*this, dims, correction, keepdim);
}
Tensor Tensor::softmax(int64_t d) const { return kiln::softmax(*this, d); }
Tensor Tensor::log_softmax(int64_t d) const { return kiln::log_softmax(*this, d); }
Tensor Tensor::matmul(const Tensor& o) const { return kiln::matmul(*this, o); }
Tensor Tensor::index_select(int64_t d, const Tensor& index) const { return kiln::index_select(*this, d, index); }
Tensor Tensor::gather(int64_t d, const Tensor& index) const { return kiln::gather(*this, d, index); }
Tensor Tensor::scatter_add(int64_t d, const Tensor& index, const Tensor& src) const {
  return kiln::scatter_add(*this, d, index, src);
}

}  // namespace kiln
