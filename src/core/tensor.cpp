// Tensor metadata and the thin methods that forward to the ops in src/ops.
#include "kiln/core/tensor.h"

#include <sstream>

#include "autograd/node.h"
#include "backend/backend.h"
#include "core/shape_check.h"
#include "core/tensor_impl.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/linalg.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln {

namespace autograd {
size_t new_hook_handle();
}

std::string shape_str(const Shape& s) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < s.size(); ++i) os << (i ? ", " : "") << s[i];
  os << "]";
  return os.str();
}

namespace detail {

Shape contiguous_strides(const Shape& sizes) {
  checked_numel("tensor", sizes);  // the products below then cannot overflow
  Shape strides(sizes.size());
  int64_t s = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    strides[i] = s;
    s *= std::max<int64_t>(sizes[i], 1);
  }
  return strides;
}

int64_t shape_numel(const Shape& sizes) { return checked_numel("tensor", sizes); }

bool is_contiguous_layout(const Shape& sizes, const Shape& strides) {
  int64_t expected = 1;
  for (size_t i = sizes.size(); i-- > 0;) {
    if (sizes[i] == 1) continue;
    if (sizes[i] == 0) return true;
    if (strides[i] != expected) return false;
    expected *= sizes[i];
  }
  return true;
}

Tensor make_view(const Tensor& base, Shape sizes, Shape strides, int64_t offset) {
  auto impl = std::make_shared<TensorImpl>();
  impl->storage = base.unsafe_impl()->storage;
  impl->numel = checked_numel("view", sizes, element_size(base.dtype()));
  impl->sizes = std::move(sizes);
  impl->strides = std::move(strides);
  impl->offset = offset;
  impl->dtype = base.dtype();
  impl->is_view = true;
  return Tensor(std::move(impl));
}

Tensor make_empty(const Shape& sizes, DType dtype, Device device) {
  auto impl = std::make_shared<TensorImpl>();
  impl->numel = checked_numel("empty", sizes, element_size(dtype));
  impl->storage = backend_for(device).allocate(static_cast<size_t>(impl->numel) * element_size(dtype), device);
  impl->sizes = sizes;
  impl->strides = contiguous_strides(sizes);
  impl->dtype = dtype;
  return Tensor(std::move(impl));
}

void bump_version(const Tensor& t) { ++t.unsafe_impl()->storage->version; }

}  // namespace detail

void Tensor::check_defined(const char* what) const {
  KILN_CHECK(impl_ != nullptr, ValueError, what, ": called on an undefined tensor");
}

const Shape& Tensor::sizes() const { check_defined("sizes"); return impl_->sizes; }
const Shape& Tensor::strides() const { check_defined("strides"); return impl_->strides; }
int64_t Tensor::dim() const { check_defined("dim"); return static_cast<int64_t>(impl_->sizes.size()); }
int64_t Tensor::numel() const { check_defined("numel"); return impl_->numel; }
int64_t Tensor::storage_offset() const { check_defined("storage_offset"); return impl_->offset; }
DType Tensor::dtype() const { check_defined("dtype"); return impl_->dtype; }
Device Tensor::device() const { check_defined("device"); return impl_->device(); }
bool Tensor::is_contiguous() const { return detail::is_contiguous_layout(sizes(), impl_->strides); }
void* Tensor::raw_data_ptr() const { check_defined("data_ptr"); return impl_->data(); }
TensorOptions Tensor::options() const { return TensorOptions(dtype()).device(device()); }
bool Tensor::shares_storage(const Tensor& o) const {
  return defined() && o.defined() && impl_->storage == o.impl_->storage;
}
uint32_t Tensor::version() const { check_defined("version"); return impl_->storage->version; }

// size(d)/stride(d) need a real dim: a 0-dim tensor has none.
static int64_t wrap_dim_for(const char* op, int64_t dim, int64_t ndim) {
  KILN_CHECK(dim >= -ndim && dim < ndim, IndexError, op, ": dim ", dim, " out of range for a tensor of rank ", ndim,
             ndim == 0 ? " (a 0-dim tensor has no dims)" : "");
  return dim < 0 ? dim + ndim : dim;
}

int64_t Tensor::size(int64_t d) const { return sizes()[wrap_dim_for("size", d, dim())]; }
int64_t Tensor::stride(int64_t d) const { return strides()[wrap_dim_for("stride", d, dim())]; }

Scalar Tensor::item_scalar() const {
  check_defined("item");
  KILN_CHECK(numel() == 1, ValueError, "item: only a tensor with one element can be converted to a scalar, got shape ",
             shape_str(sizes()));
  Tensor c = device().is_cpu() ? *this : to(Device(kCPU));
  return visit_dtype(c.dtype(), [&](auto tag) -> Scalar {
    using T = decltype(tag);
    return Scalar(*static_cast<const T*>(c.raw_data_ptr()));
  });
}

Scalar Tensor::at_scalar(const Shape& index) const {
  check_defined("at");
  KILN_CHECK(static_cast<int64_t>(index.size()) == dim(), IndexError, "at: index ", shape_str(index),
             " has ", index.size(), " entries for a tensor of shape ", shape_str(sizes()));
  Tensor v = *this;
  for (size_t i = index.size(); i-- > 0;) v = v.select(static_cast<int64_t>(i), index[i]);
  return v.item_scalar();
}

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

// --- autograd ------------------------------------------------------------------
Tensor& Tensor::requires_grad_(bool r) {
  check_defined("requires_grad_");
  KILN_CHECK(!r || is_floating(dtype()), DTypeError, "requires_grad_: only floating point tensors can require ",
             "gradients, got ", dtype());
  KILN_CHECK(r || !impl_->autograd || !impl_->autograd->grad_fn, AutogradError,
             "requires_grad_(false): the tensor is not a leaf (it was computed by ", impl_->autograd->grad_fn->name(),
             "); use detach()");
  impl_->meta().requires_grad = r;
  return *this;
}

bool Tensor::requires_grad() const { return defined() && impl_->requires_grad(); }
bool Tensor::is_leaf() const { return !impl_->autograd || !impl_->autograd->grad_fn; }

Tensor Tensor::grad() const {
  check_defined("grad");
  if (!impl_->autograd || !impl_->autograd->grad) return Tensor();
  return Tensor(impl_->autograd->grad);
}

void Tensor::set_grad(const Tensor& g) const {
  check_defined("set_grad");
  if (g.defined()) {
    KILN_CHECK(g.sizes() == sizes() && g.device() == device(), ValueError, "set_grad: gradient ",
               shape_str(g.sizes()), " on ", g.device(), " does not match tensor ", shape_str(sizes()), " on ", device());
  }
  impl_->meta().grad = g.defined() ? g.impl_ptr() : nullptr;
}

std::shared_ptr<autograd::Node> Tensor::grad_fn() const {
  return defined() && impl_->autograd ? impl_->autograd->grad_fn : nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph) const {
  check_defined("backward");
  autograd::run_backward({*this}, {gradient}, retain_graph);
}

void Tensor::retain_grad() const {
  check_defined("retain_grad");
  KILN_CHECK(requires_grad(), AutogradError, "retain_grad: the tensor does not require grad");
  if (is_leaf() || impl_->autograd->retains_grad) return;
  impl_->autograd->retains_grad = true;
  std::weak_ptr<detail::TensorImpl> weak = impl_;
  impl_->autograd->grad_fn->add_pre_hook([weak](const Tensor& g) {
    if (auto self = weak.lock()) {
      auto& meta = self->meta();
      if (!meta.grad) meta.grad = g.contiguous().clone().detach().impl_ptr();
      else Tensor(meta.grad).add_(g);
    }
    return Tensor();
  });
}

size_t Tensor::register_hook(std::function<Tensor(const Tensor&)> fn) const {
  check_defined("register_hook");
  KILN_CHECK(requires_grad(), AutogradError, "register_hook: cannot register a hook on a tensor that does not ",
             "require grad");
  if (!is_leaf()) return impl_->autograd->grad_fn->add_pre_hook(std::move(fn));
  size_t h = autograd::new_hook_handle();
  impl_->autograd->hooks.emplace_back(h, std::move(fn));
  return h;
}

size_t Tensor::register_hook(std::function<void(const Tensor&)> fn) const {
  return register_hook(std::function<Tensor(const Tensor&)>([fn = std::move(fn)](const Tensor& g) {
    fn(g);
    return Tensor();
  }));
}

void Tensor::remove_hook(size_t handle) const {
  check_defined("remove_hook");
  if (!impl_->autograd) return;
  if (impl_->autograd->grad_fn && impl_->autograd->grad_fn->remove_pre_hook(handle)) return;
  auto& hooks = impl_->autograd->hooks;
  for (auto it = hooks.begin(); it != hooks.end(); ++it) {
    if (it->first == handle) {
      hooks.erase(it);
      return;
    }
  }
}

}  // namespace kiln
