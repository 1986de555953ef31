// kiln::Tensor: a reference-counted handle to shaped, strided data on a device,
// with autograd metadata. Copying a Tensor copies the handle, not the data.
#pragma once
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <tuple>
#include <type_traits>
#include <vector>

#include "kiln/core/array_ref.h"
#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/error.h"
#include "kiln/core/scalar.h"
#include "kiln/core/tensor_options.h"

namespace kiln {

using Shape = std::vector<int64_t>;
std::string shape_str(const Shape& s);  // "[2, 3]"

namespace detail {
struct TensorImpl;
}
namespace autograd {
class Node;
}
namespace indexing {
class TensorIndex;  // kiln/core/tensor_indexing.h, included at the end of this file
}

class Tensor {
 public:
  Tensor() = default;  // undefined: defined() is false
  explicit Tensor(std::shared_ptr<detail::TensorImpl> impl) : impl_(std::move(impl)) {}

  // --- metadata -----------------------------------------------------------
  bool defined() const { return impl_ != nullptr; }
  const Shape& sizes() const;
  const Shape& shape() const { return sizes(); }
  const Shape& strides() const;
  int64_t size(int64_t dim) const;    // negative dims count from the end
  int64_t stride(int64_t dim) const;
  int64_t dim() const;
  int64_t numel() const;
  int64_t storage_offset() const;
  DType dtype() const;
  DType scalar_type() const { return dtype(); }
  Device device() const;
  bool is_cuda() const { return device().is_cuda(); }
  bool is_cpu() const { return device().is_cpu(); }
  int get_device() const { return is_cuda() ? device().index() : -1; }  // -1 on the CPU, as LibTorch
  int64_t ndimension() const { return dim(); }
  size_t nbytes() const { return static_cast<size_t>(numel()) * element_size(); }
  bool is_floating_point() const { return is_floating(dtype()); }
  bool is_contiguous() const;
  size_t element_size() const { return kiln::element_size(dtype()); }
  TensorOptions options() const;
  std::string str() const;  // the printed form
  bool is_same(const Tensor& o) const { return impl_ == o.impl_; }
  bool shares_storage(const Tensor& o) const;

  // --- data access (CPU) ----------------------------------------------------
  template <class T> T* data_ptr() const {
    KILN_CHECK(dtype_of_v<T> == dtype(), DTypeError, "data_ptr: requested ", dtype_name(dtype_of_v<T>),
               " but tensor is ", dtype_name(dtype()));
    return static_cast<T*>(raw_data_ptr());
  }
  void* raw_data_ptr() const;  // address of element 0 (storage + offset)
  // The value of a one-element tensor (copies from GPU): x.item() is a
  // Scalar (x.item().toFloat()), x.item<float>() the value converted to float.
  template <class T = Scalar> T item() const {
    if constexpr (std::is_same_v<T, Scalar>) return item_scalar();
    else return item_scalar().to<T>();
  }
  Scalar item_scalar() const;
  // Element at an index, for tests and small programs (copies from GPU).
  template <class T> T at(const Shape& index) const { return at_scalar(index).to<T>(); }
  Scalar at_scalar(const Shape& index) const;
  // Contents as a flat std::vector<T> in logical (row-major) order.
  template <class T> std::vector<T> to_vector() const;

  // --- views (share storage) -----------------------------------------------
  // Sizes and dims are IntArrayRef: a braced list, a Shape or one integer.
  Tensor view(IntArrayRef shape) const;
  Tensor view_as(const Tensor& other) const { return view(other.sizes()); }
  Tensor reshape(IntArrayRef shape) const;
  Tensor reshape_as(const Tensor& other) const { return reshape(other.sizes()); }
  Tensor permute(IntArrayRef dims) const;
  Tensor transpose(int64_t d0, int64_t d1) const;
  Tensor t() const;  // 2-D transpose
  Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
  Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
  Tensor select(int64_t dim, int64_t index) const;
  Tensor operator[](int64_t index) const { return select(0, index); }
  Tensor expand(IntArrayRef shape) const;
  Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
  Tensor squeeze() const;
  Tensor squeeze(int64_t dim) const;
  Tensor unsqueeze(int64_t dim) const;
  Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
  Tensor as_strided(const Shape& sizes, const Shape& strides, std::optional<int64_t> offset = std::nullopt) const;

  // --- copies and conversion -----------------------------------------------
  // to(...) as LibTorch: returns *this when nothing changes, unless copy is
  // true. Converting to an integer dtype gives a tensor without history.
  Tensor contiguous() const;
  Tensor clone() const;
  Tensor to(DType dtype, bool non_blocking = false, bool copy = false) const;
  Tensor to(Device device, bool non_blocking = false, bool copy = false) const;
  Tensor to(DeviceType type, bool non_blocking = false, bool copy = false) const {
    return to(Device(type), non_blocking, copy);
  }
  Tensor to(const char* device) const { return to(Device(device)); }
  Tensor to(Device device, DType dtype, bool non_blocking = false, bool copy = false) const;
  // The dtype and device of `other`.
  Tensor to(const Tensor& other, bool non_blocking = false, bool copy = false) const;
  // Only the fields `opts` sets: to(TensorOptions().device(kCUDA)) keeps the dtype.
  Tensor to(const TensorOptions& opts, bool non_blocking = false, bool copy = false) const;
  Tensor toType(DType dtype) const { return to(dtype); }
  Tensor type_as(const Tensor& other) const { return to(other.dtype()); }
  Tensor cpu() const { return to(Device(kCPU)); }
  Tensor cuda() const { return to(Device(kCUDA, 0)); }
  Tensor detach() const;  // same data, no history
  Tensor data() const { return detach(); }  // LibTorch's x.data(): the values without history

  // --- in place --------------------------------------------------------------
  Tensor& zero_();
  Tensor& fill_(const Scalar& value);
  Tensor& copy_(const Tensor& src);
  Tensor& add_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& add_(const Scalar& other);
  Tensor& sub_(const Tensor& other, const Scalar& alpha = 1);
  Tensor& sub_(const Scalar& other);
  Tensor& mul_(const Tensor& other);
  Tensor& mul_(const Scalar& other);
  Tensor& div_(const Tensor& other);
  Tensor& div_(const Scalar& other);
  Tensor& clamp_(std::optional<Scalar> min, std::optional<Scalar> max);
  // Fills with U[from, to) / N(mean, std) values from the default generator.
  Tensor& uniform_(double from = 0, double to = 1);
  Tensor& normal_(double mean = 0, double std = 1);
  // self[mask] = value, where mask (bool) broadcasts to self.
  Tensor& masked_fill_(const Tensor& mask, const Scalar& value);
  Tensor& masked_fill_(const Tensor& mask, const Tensor& value);
  Tensor& operator+=(const Tensor& o) { return add_(o); }
  Tensor& operator+=(const Scalar& o) { return add_(o); }
  Tensor& operator-=(const Tensor& o) { return sub_(o); }
  Tensor& operator-=(const Scalar& o) { return sub_(o); }
  Tensor& operator*=(const Tensor& o) { return mul_(o); }
  Tensor& operator*=(const Scalar& o) { return mul_(o); }
  Tensor& operator/=(const Tensor& o) { return div_(o); }
  Tensor& operator/=(const Scalar& o) { return div_(o); }

  // --- math (methods mirror the free functions in kiln/ops) ------------------
  Tensor add(const Tensor& o, const Scalar& alpha = 1) const;
  Tensor add(const Scalar& o) const;
  Tensor sub(const Tensor& o, const Scalar& alpha = 1) const;
  Tensor sub(const Scalar& o) const;
  Tensor mul(const Tensor& o) const;
  Tensor mul(const Scalar& o) const;
  Tensor div(const Tensor& o) const;
  Tensor div(const Scalar& o) const;
  Tensor square() const;
  Tensor pow(const Scalar& exponent) const;
  Tensor pow(const Tensor& exponent) const;
  Tensor neg() const;
  Tensor abs() const;
  Tensor exp() const;
  Tensor log() const;
  Tensor sqrt() const;
  Tensor rsqrt() const;
  Tensor tanh() const;
  Tensor sigmoid() const;
  Tensor relu() const;
  Tensor clamp(std::optional<Scalar> min, std::optional<Scalar> max) const;
  Tensor clamp_min(const Scalar& min) const { return clamp(min, std::nullopt); }
  Tensor clamp_max(const Scalar& max) const { return clamp(std::nullopt, max); }
  // Comparisons give bool tensors.
  Tensor eq(const Tensor& o) const;
  Tensor eq(const Scalar& o) const;
  Tensor ne(const Tensor& o) const;
  Tensor ne(const Scalar& o) const;
  Tensor lt(const Tensor& o) const;
  Tensor lt(const Scalar& o) const;
  Tensor le(const Tensor& o) const;
  Tensor le(const Scalar& o) const;
  Tensor gt(const Tensor& o) const;
  Tensor gt(const Scalar& o) const;
  Tensor ge(const Tensor& o) const;
  Tensor ge(const Scalar& o) const;
  // An empty dim list reduces over every dim; x.sum(1) and x.sum({0, 1}) both work.
  Tensor sum() const;
  Tensor sum(IntArrayRef dims, bool keepdim = false) const;
  Tensor mean() const;
  Tensor mean(IntArrayRef dims, bool keepdim = false) const;
  Tensor amax(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor amin(IntArrayRef dims = {}, bool keepdim = false) const;
  Tensor logsumexp(IntArrayRef dims, bool keepdim = false) const;
  Tensor max() const;
  Tensor min() const;
  // (values, indices) over one dim: auto [v, i] = x.max(1); std::get<1>(x.max(1)).
  std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
  std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
  Tensor max(const Tensor& other) const;  // elementwise: maximum(*this, other)
  Tensor min(const Tensor& other) const;  // minimum(*this, other)
  Tensor argmax(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  Tensor argmin(std::optional<int64_t> dim = std::nullopt, bool keepdim = false) const;
  // correction 1 (or true) is the unbiased estimate, 0 (or false) the
  // population one, so LibTorch's x.var(dim, /*unbiased=*/false) reads the same.
  Tensor var(IntArrayRef dims = {}, int64_t correction = 1, bool keepdim = false) const;
  Tensor std(IntArrayRef dims = {}, int64_t correction = 1, bool keepdim = false) const;
  // The p-norm over all elements, or over `dims` (p = 2 when p is unset).
  Tensor norm(const Scalar& p = 2) const;
  Tensor norm(std::optional<Scalar> p, IntArrayRef dims, bool keepdim = false) const;
  Tensor softmax(int64_t dim) const;
  Tensor log_softmax(int64_t dim) const;
  Tensor matmul(const Tensor& o) const;
  Tensor mm(const Tensor& o) const { return matmul(o); }
  Tensor bmm(const Tensor& o) const;
  // Views of consecutive pieces along dim (see kiln::split / kiln::chunk).
  std::vector<Tensor> chunk(int64_t chunks, int64_t dim = 0) const;
  std::vector<Tensor> split(int64_t split_size, int64_t dim = 0) const;
  std::vector<Tensor> split(IntArrayRef split_sizes, int64_t dim = 0) const;
  std::vector<Tensor> split_with_sizes(IntArrayRef split_sizes, int64_t dim = 0) const;
  // Elements where mask (bool, broadcast to this shape) is true become value.
  Tensor masked_fill(const Tensor& mask, const Scalar& value) const;
  Tensor masked_fill(const Tensor& mask, const Tensor& value) const;
  Tensor index_select(int64_t dim, const Tensor& index) const;
  Tensor gather(int64_t dim, const Tensor& index) const;
  Tensor scatter_add(int64_t dim, const Tensor& index, const Tensor& src) const;

  // --- indexing (kiln/core/tensor_indexing.h) ----------------------------------
  // x.index({Slice(), 0}) is Python's x[:, 0]: integers, Slice, None,
  // Ellipsis, bool and integer tensors, as LibTorch. Integers, slices, None
  // and Ellipsis give views; tensor indices gather (a copy).
  Tensor index(ArrayRef<indexing::TensorIndex> indices) const;
  Tensor index(std::initializer_list<indexing::TensorIndex> indices) const;
  // x[indices] = value, in place (value broadcasts to the indexed shape).
  Tensor& index_put_(ArrayRef<indexing::TensorIndex> indices, const Tensor& value);
  Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& value);
  Tensor& index_put_(ArrayRef<indexing::TensorIndex> indices, const Scalar& value);
  Tensor& index_put_(std::initializer_list<indexing::TensorIndex> indices, const Scalar& value);

  // --- autograd ----------------------------------------------------------------
  Tensor& requires_grad_(bool requires_grad = true);
  bool requires_grad() const;
  bool is_leaf() const;
  // The accumulated gradient of a leaf (undefined until a backward reaches it).
  Tensor grad() const;
  void set_grad(const Tensor& g) const;
  std::shared_ptr<autograd::Node> grad_fn() const;
  // Reverse-mode pass from this tensor. A non-scalar needs `gradient`.
  // retain_graph defaults to create_graph, as LibTorch; create_graph=true
  // (higher-order gradients) is not supported and throws AutogradError.
  void backward(const Tensor& gradient = Tensor(), std::optional<bool> retain_graph = std::nullopt,
                bool create_graph = false) const;
  Tensor& set_requires_grad(bool requires_grad) { return requires_grad_(requires_grad); }
  // Keep .grad() on a non-leaf too.
  void retain_grad() const;
  // fn(grad) runs when this tensor's gradient is computed; returning a defined
  // tensor replaces the gradient. Returns a handle for remove_hook().
  size_t register_hook(std::function<Tensor(const Tensor&)> fn) const;
  size_t register_hook(std::function<void(const Tensor&)> fn) const;
  // Any callable: picks the overload from its return type (a lambda returning
  // Tensor converts to both std::function types, which would be ambiguous).
  template <class F, std::enable_if_t<std::is_invocable_v<F&, const Tensor&>, int> = 0>
  size_t register_hook(F fn) const {
    if constexpr (std::is_void_v<std::invoke_result_t<F&, const Tensor&>>)
      return register_hook(std::function<void(const Tensor&)>(std::move(fn)));
    else
      return register_hook(std::function<Tensor(const Tensor&)>(std::move(fn)));
  }
  void remove_hook(size_t handle) const;
  // Incremented by every in-place write to this tensor's storage.
  uint32_t version() const;

  detail::TensorImpl* unsafe_impl() const { return impl_.get(); }
  const std::shared_ptr<detail::TensorImpl>& impl_ptr() const { return impl_; }

 private:
  void check_defined(const char* what) const;
  std::shared_ptr<detail::TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& os, const Tensor& t);

template <class T>
std::vector<T> Tensor::to_vector() const {
  Tensor c = to(Device(kCPU)).to(dtype_of_v<T>).contiguous();
  const T* p = c.data_ptr<T>();
  return std::vector<T>(p, p + c.numel());
}

}  // namespace kiln

#include "kiln/core/tensor_indexing.h"
