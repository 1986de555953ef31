// View ops: new geometry over the same storage, never a copy (except
// reshape of a layout that cannot be viewed, which copies like PyTorch).
#include <algorithm>
#include <numeric>

#include "autograd/derivatives/view.h"
#include "core/shape_check.h"
#include "kiln/ops/indexing.h"
#include "ops/op_util.h"

namespace kiln {

using detail::make_view;
using detail::wrap_dim;

namespace {

// Resolves one -1 entry and checks the element count.
Shape infer_shape(const char* op, const Shape& shape, int64_t numel) {
  Shape out = shape;
  int64_t known = 1;
  int infer = -1;
  for (size_t i = 0; i < shape.size(); ++i) {
    if (shape[i] == -1) {
      KILN_CHECK(infer < 0, ShapeError, op, ": only one dimension can be -1 in ", shape_str(shape));
      infer = static_cast<int>(i);
    } else {
      KILN_CHECK(shape[i] >= 0, ShapeError, op, ": invalid size ", shape[i], " in ", shape_str(shape));
      // Overflow-checked: a product that overflows or passes numel is invalid.
      int64_t next = 0;
      const bool fits = detail::mul_fits(known, shape[i], &next);
      KILN_CHECK(fits && (numel == 0 || next <= numel), ShapeError, op, ": shape ", shape_str(shape),
                 " is invalid for input of size ", numel);
      known = next;
    }
  }
  if (infer < 0) detail::checked_numel(op, shape);  // [0, 2^62, 2^62]: numel 0, strides overflow
  if (infer >= 0) {
    KILN_CHECK(known != 0 && numel % known == 0, ShapeError, op, ": shape ", shape_str(shape),
               " is invalid for input of size ", numel);
    out[infer] = numel / known;
  } else {
    KILN_CHECK(known == numel, ShapeError, op, ": shape ", shape_str(shape), " is invalid for input of size ", numel);
  }
  return out;
}

// Strides that let `new_sizes` view memory laid out as (sizes, strides), or
// empty when no such view exists. Walks groups of old dims that are
// contiguous with each other and splits/merges within a group only.
std::optional<Shape> view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes) {
  Shape out(new_sizes.size());
  if (detail::shape_numel(sizes) == 0 || sizes.empty()) {
    out = detail::contiguous_strides(new_sizes);
    return out;
  }
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base_stride = strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= sizes[d];
    if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        out[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = strides[d - 1];
        tensor_numel = 1;
        view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return out;
}

// Records a view op for autograd when needed.
template <class NodeT, class Init>
Tensor record_view(Tensor out, const Tensor& input, Init&& init) {
  if (autograd::needs_grad({&input})) {
    auto node = std::make_shared<NodeT>();
    init(*node);
    autograd::set_history(out, node, {&input});
  }
  return out;
}

Tensor record_reshape(Tensor out, const Tensor& input) {
  return record_view<autograd::ReshapeBackward>(std::move(out), input,
                                                [&](autograd::ReshapeBackward& n) { n.input_sizes = input.sizes(); });
}

}  // namespace

Tensor Tensor::view(IntArrayRef shape) const {
  detail::check_defined("view", *this);
  Shape sizes = infer_shape("view", shape, numel());
  auto st = view_strides(this->sizes(), strides(), sizes);
  KILN_CHECK(st.has_value(), ShapeError, "view: size ", shape_str(shape), " is not compatible with input of shape ",
             shape_str(this->sizes()), " and strides ", shape_str(strides()),
             " (at least one dimension spans two contiguous subspaces); use reshape()");
  return record_reshape(make_view(*this, sizes, *st, storage_offset()), *this);
}

Tensor Tensor::reshape(IntArrayRef shape) const {
  detail::check_defined("reshape", *this);
  Shape sizes = infer_shape("reshape", shape, numel());
  if (auto st = view_strides(this->sizes(), strides(), sizes))
    return record_reshape(make_view(*this, sizes, *st, storage_offset()), *this);
  return contiguous().view(sizes);
}

Tensor Tensor::permute(IntArrayRef dims) const {
  detail::check_defined("permute", *this);
  KILN_CHECK(static_cast<int64_t>(dims.size()) == dim(), ShapeError, "permute: got ", dims.size(),
             " dims ", shape_str(dims), " for a tensor of shape ", shape_str(sizes()));
  Shape wrapped(dims.size()), new_sizes(dims.size()), new_strides(dims.size());
  std::vector<bool> seen(dims.size(), false);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim("permute", dims[i], dim());
    KILN_CHECK(!seen[d], IndexError, "permute: dim ", dims[i], " repeats in ", shape_str(dims));
    seen[d] = true;
    wrapped[i] = d;
    new_sizes[i] = sizes()[d];
    new_strides[i] = strides()[d];
  }
  return record_view<autograd::PermuteBackward>(make_view(*this, new_sizes, new_strides, storage_offset()), *this,
                                                [&](autograd::PermuteBackward& n) { n.dims = wrapped; });
}

Tensor Tensor::transpose(int64_t d0, int64_t d1) const {
  detail::check_defined("transpose", *this);
  if (dim() == 0) return *this;
  Shape dims(dim());
  std::iota(dims.begin(), dims.end(), 0);
  std::swap(dims[wrap_dim("transpose", d0, dim())], dims[wrap_dim("transpose", d1, dim())]);
  return permute(dims);
}

Tensor Tensor::t() const {
  KILN_CHECK(dim() <= 2, ShapeError, "t: expects a tensor with <= 2 dims, got shape ", shape_str(sizes()));
  return dim() < 2 ? *this : transpose(0, 1);
}

Tensor Tensor::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
  detail::check_defined("slice", *this);
  KILN_CHECK(dim() > 0, ShapeError, "slice: cannot slice a 0-dim tensor");
  d = wrap_dim("slice", d, dim());
  KILN_CHECK(step > 0, ValueError, "slice: step must be positive, got ", step);
  const int64_t n = sizes()[d];
  auto clampi = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
  start = clampi(start);
  end = std::max(clampi(end), start);
  Shape new_sizes = sizes(), new_strides = strides();
  new_sizes[d] = (end - start + step - 1) / step;
  new_strides[d] = strides()[d] * step;
  Tensor out = make_view(*this, new_sizes, new_strides, storage_offset() + start * strides()[d]);
  return record_view<autograd::SliceBackward>(out, *this, [&](autograd::SliceBackward& node) {
    node.input_sizes = sizes();
    node.dim = d;
    node.start = start;
    node.end = end;
    node.step = step;
  });
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length) const {
  detail::check_defined("narrow", *this);
  KILN_CHECK(dim() > 0, ShapeError, "narrow: cannot narrow a 0-dim tensor");
  d = wrap_dim("narrow", d, dim());
  const int64_t n = sizes()[d];
  if (start < 0) start += n;
  KILN_CHECK(start >= 0 && length >= 0 && start + length <= n, IndexError, "narrow: start ", start, " and length ",
             length, " are out of range for dim ", d, " of size ", n, " (shape ", shape_str(sizes()), ")");
  return slice(d, start, start + length, 1);
}

Tensor Tensor::select(int64_t d, int64_t index) const {
  detail::check_defined("select", *this);
  KILN_CHECK(dim() > 0, ShapeError, "select: cannot select from a 0-dim tensor");
  d = wrap_dim("select", d, dim());
  const int64_t n = sizes()[d];
  KILN_CHECK(index >= -n && index < n, IndexError, "select: index ", index, " is out of range for dim ", d,
             " of size ", n, " (shape ", shape_str(sizes()), ")");
  if (index < 0) index += n;
  Shape new_sizes = sizes(), new_strides = strides();
  new_sizes.erase(new_sizes.begin() + d);
  new_strides.erase(new_strides.begin() + d);
  Tensor out = make_view(*this, new_sizes, new_strides, storage_offset() + index * strides()[d]);
  return record_view<autograd::SelectBackward>(out, *this, [&](autograd::SelectBackward& node) {
    node.input_sizes = sizes();
    node.dim = d;
    node.index = index;
  });
}

Tensor Tensor::expand(IntArrayRef shape) const {
  detail::check_defined("expand", *this);
  const int64_t nd = static_cast<int64_t>(shape.size());
  KILN_CHECK(nd >= dim(), ShapeError, "expand: the target shape ", shape_str(shape), " has fewer dims than the input ",
             shape_str(sizes()));
  Shape new_sizes(nd), new_strides(nd);
  for (int64_t i = nd - 1; i >= 0; --i) {
    const int64_t j = i - (nd - dim());
    const int64_t have = j >= 0 ? sizes()[j] : 1;
    const int64_t want = shape[i] == -1 ? have : shape[i];
    KILN_CHECK(j >= 0 || shape[i] != -1, ShapeError, "expand: -1 is not allowed for a new leading dim in ",
               shape_str(shape));
    KILN_CHECK(have == want || have == 1, ShapeError, "expand: the input shape ", shape_str(sizes()),
               " cannot be expanded to ", shape_str(shape), " (dim ", i, ": ", have, " vs ", want, ")");
    new_sizes[i] = want;
    new_strides[i] = (j >= 0 && have == want) ? strides()[j] : 0;
  }
  detail::checked_numel("expand", new_sizes);
  if (new_sizes == sizes()) return *this;
  return record_view<autograd::ExpandBackward>(make_view(*this, new_sizes, new_strides, storage_offset()), *this,
                                               [&](autograd::ExpandBackward& n) { n.input_sizes = sizes(); });
}

Tensor Tensor::squeeze() const {
  detail::check_defined("squeeze", *this);
  Shape s, st;
  for (int64_t i = 0; i < dim(); ++i) {
    if (sizes()[i] != 1) {
      s.push_back(sizes()[i]);
      st.push_back(strides()[i]);
    }
  }
  return record_reshape(make_view(*this, s, st, storage_offset()), *this);
}

Tensor Tensor::squeeze(int64_t d) const {
  detail::check_defined("squeeze", *this);
  if (dim() == 0) return *this;
  d = wrap_dim("squeeze", d, dim());
  if (sizes()[d] != 1) return *this;
  Shape s = sizes(), st = strides();
  s.erase(s.begin() + d);
  st.erase(st.begin() + d);
  return record_reshape(make_view(*this, s, st, storage_offset()), *this);
}

Tensor Tensor::unsqueeze(int64_t d) const {
  detail::check_defined("unsqueeze", *this);
  d = wrap_dim("unsqueeze", d, dim() + 1);
  Shape s = sizes(), st = strides();
  const int64_t stride = d < dim() ? sizes()[d] * strides()[d] : 1;
  s.insert(s.begin() + d, 1);
  st.insert(st.begin() + d, stride);
  return record_reshape(make_view(*this, s, st, storage_offset()), *this);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim) const {
  detail::check_defined("flatten", *this);
  if (dim() == 0) return reshape({1});
  start_dim = wrap_dim("flatten", start_dim, dim());
  end_dim = wrap_dim("flatten", end_dim, dim());
  KILN_CHECK(start_dim <= end_dim, ValueError, "flatten: start_dim ", start_dim, " must not be after end_dim ", end_dim);
  Shape s(sizes().begin(), sizes().begin() + start_dim);
  int64_t merged = 1;
  for (int64_t i = start_dim; i <= end_dim; ++i) merged *= sizes()[i];
  s.push_back(merged);
  s.insert(s.end(), sizes().begin() + end_dim + 1, sizes().end());
  return reshape(s);
}

Tensor Tensor::as_strided(const Shape& new_sizes, const Shape& new_strides, std::optional<int64_t> offset) const {
  detail::check_defined("as_strided", *this);
  KILN_CHECK(new_sizes.size() == new_strides.size(), ShapeError, "as_strided: sizes ", shape_str(new_sizes),
             " and strides ", shape_str(new_strides), " differ in length");
  KILN_CHECK(!autograd::needs_grad({this}), AutogradError,
             "as_strided: not differentiable; call it on a tensor that does not require grad");
  const int64_t off = offset.value_or(storage_offset());
  const int64_t last = detail::checked_extent("as_strided", new_sizes, new_strides, off, element_size()) - 1;
  const auto& st = *unsafe_impl()->storage;
  KILN_CHECK(last < static_cast<int64_t>(st.nbytes / element_size()), IndexError, "as_strided: view ",
             shape_str(new_sizes), " with strides ", shape_str(new_strides), " and offset ", off,
             " reaches past the storage of ", st.nbytes / element_size(), " elements");
  return make_view(*this, new_sizes, new_strides, off);
}

Tensor Tensor::detach() const {
  detail::check_defined("detach", *this);
  return make_view(*this, sizes(), strides(), storage_offset());
}

// Free-function spellings.
Tensor reshape(const Tensor& x, IntArrayRef shape) { return x.reshape(shape); }
Tensor flatten(const Tensor& x, int64_t s, int64_t e) { return x.flatten(s, e); }
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) { return x.transpose(d0, d1); }
Tensor permute(const Tensor& x, IntArrayRef dims) { return x.permute(dims); }
Tensor squeeze(const Tensor& x, int64_t dim) { return x.squeeze(dim); }
Tensor unsqueeze(const Tensor& x, int64_t dim) { return x.unsqueeze(dim); }

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  const size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (size_t i = 0; i < n; ++i) {
    const int64_t da = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const int64_t db = i < n - b.size() ? 1 : b[i - (n - b.size())];
    KILN_CHECK(da == db || da == 1 || db == 1, ShapeError, op, ": shapes ", shape_str(a), " and ", shape_str(b),
               " cannot be broadcast together (dim ", i, ": ", da, " vs ", db, ")");
    out[i] = da == 1 ? db : da;
  }
  return out;
}

}  // namespace kiln
