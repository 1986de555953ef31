// Tensor metadata and storage: what a tensor is, without the ops on it
// (src/ops/tensor_methods.cpp) or its autograd members
// (src/autograd/tensor_autograd.cpp).
#include "kiln/core/tensor.h"

#include <sstream>

#include "core/allocator.h"
#include "core/shape_check.h"
#include "core/tensor_impl.h"

namespace kiln {

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
  impl->storage = allocator_for(device).allocate(static_cast<size_t>(impl->numel) * element_size(dtype), device);
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
  return visit_any_dtype(c.dtype(), [&](auto tag) -> Scalar {
    using T = decltype(tag);
    return Scalar(widen(*static_cast<const T*>(c.raw_data_ptr())));
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

}  // namespace kiln
