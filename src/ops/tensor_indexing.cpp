// Tensor::index and Tensor::index_put_ (kiln/core/tensor_indexing.h), built
// from view ops, index_select, scatter_add and where, so their gradients are
// those ops' gradients and they run on every device.
#include "kiln/core/tensor_indexing.h"

#include <algorithm>
#include <limits>
#include <numeric>
#include <sstream>
#include <unordered_map>

#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/inplace.h"
#include "ops/op_util.h"

namespace kiln {

namespace indexing {

TensorIndex::TensorIndex(const char* s) : kind_(Kind::Ellipsis) {
  KILN_CHECK(s != nullptr && std::string(s) == "...", ValueError, "TensorIndex: the only string index is \"...\" ",
             "(Ellipsis), got \"", s == nullptr ? "" : s, "\"");
}

std::string describe(ArrayRef<TensorIndex> indices) {
  std::ostringstream os;
  os << "[";
  for (size_t i = 0; i < indices.size(); ++i) {
    const TensorIndex& t = indices[i];
    if (i) os << ", ";
    switch (t.kind()) {
      case TensorIndex::Kind::None: os << "None"; break;
      case TensorIndex::Kind::Ellipsis: os << "..."; break;
      case TensorIndex::Kind::Integer: os << t.integer(); break;
      case TensorIndex::Kind::Boolean: os << (t.boolean() ? "True" : "False"); break;
      case TensorIndex::Kind::Slice: {
        const Slice& s = t.slice();
        if (s.start()) os << *s.start();
        os << ":";
        if (s.stop()) os << *s.stop();
        if (s.step() != 1) os << ":" << s.step();
        break;
      }
      case TensorIndex::Kind::Tensor: os << "tensor(" << detail::describe(t.tensor()) << ")"; break;
    }
  }
  os << "]";
  return os.str();
}

}  // namespace indexing

namespace {

using indexing::TensorIndex;

// A tensor index after the basic indices were applied: the dims of the view
// it covers, and the int64 positions (one tensor per covered dim).
struct AdvancedIndex {
  int64_t dim;
  Tensor index;  // int64, on the view's device
};

// How many dims of the input an index uses up.
int64_t dims_consumed(const TensorIndex& t) {
  if (t.is_integer() || t.is_slice()) return 1;
  if (t.is_tensor()) {
    const Tensor& x = t.tensor();
    if (x.dtype() == kBool) return x.dim();
    return 1;
  }
  return 0;  // None, Ellipsis, bool
}

// The basic indices applied as views; the tensor indices collected.
struct Parsed {
  Tensor view;
  std::vector<AdvancedIndex> advanced;
};

Parsed apply_basic(const char* op, const Tensor& self, ArrayRef<TensorIndex> indices) {
  detail::check_defined(op, self, "self");
  int64_t consumed = 0, ellipses = 0;
  for (const TensorIndex& t : indices) {
    if (t.is_tensor()) detail::check_defined(op, t.tensor(), "index tensor");
    // A 0-dim bool tensor acts as a bool: it uses up no dim.
    if (!(t.is_tensor() && t.tensor().dtype() == kBool && t.tensor().dim() == 0)) consumed += dims_consumed(t);
    if (t.is_ellipsis()) ++ellipses;
  }
  KILN_CHECK(ellipses <= 1, IndexError, op, ": an index can only have a single ellipsis ('...'), got ",
             indexing::describe(indices));
  KILN_CHECK(consumed <= self.dim(), IndexError, op, ": too many indices for a tensor of dimension ", self.dim(),
             " (shape ", shape_str(self.sizes()), "): ", indexing::describe(indices));
  Parsed p;
  Tensor r = self;
  int64_t d = 0;  // the dim of r the next index applies to
  auto add_unit_dim = [&](bool keep) {
    r = r.unsqueeze(d);
    if (!keep) r = r.slice(d, 0, 0);
    ++d;
  };
  for (const TensorIndex& t : indices) {
    switch (t.kind()) {
      case TensorIndex::Kind::None: add_unit_dim(true); break;
      case TensorIndex::Kind::Boolean: add_unit_dim(t.boolean()); break;
      case TensorIndex::Kind::Ellipsis: d += self.dim() - consumed; break;
      case TensorIndex::Kind::Integer: {
        const int64_t n = r.size(d);
        KILN_CHECK(t.integer() >= -n && t.integer() < n, IndexError, op, ": index ", t.integer(),
                   " is out of bounds for dim ", d, " with size ", n, " (shape ", shape_str(r.sizes()), ")");
        r = r.select(d, t.integer());
        break;
      }
      case TensorIndex::Kind::Slice: {
        const indexing::Slice& s = t.slice();
        KILN_CHECK(s.step() > 0, ValueError, op, ": slice step must be positive, got ", s.step());
        r = r.slice(d, s.start().value_or(0), s.stop().value_or(std::numeric_limits<int64_t>::max()), s.step());
        ++d;
        break;
      }
      case TensorIndex::Kind::Tensor: {
        const Tensor& x = t.tensor();
        if (x.dtype() == kBool && x.dim() == 0) {
          add_unit_dim(x.item<bool>());
          break;
        }
        if (x.dtype() == kBool) {
          // A mask covers x.dim() dims, which must match it exactly; its true
          // positions become one int64 index per covered dim.
          for (int64_t j = 0; j < x.dim(); ++j)
            KILN_CHECK(x.size(j) == r.size(d + j), IndexError, op, ": the shape of the mask ", shape_str(x.sizes()),
                       " at index ", j, " does not match the shape of the indexed tensor ", shape_str(r.sizes()),
                       " at dim ", d + j);
          Tensor nz = nonzero(x).to(r.device());  // [count, x.dim()]
          for (int64_t j = 0; j < x.dim(); ++j) p.advanced.push_back({d + j, nz.select(1, j)});
          d += x.dim();
          break;
        }
        KILN_CHECK(x.dtype() == kInt64 || x.dtype() == kInt32, DTypeError, op,
                   ": tensors used as indices must be int64, int32 or bool, got ", detail::describe(x));
        KILN_CHECK(x.device() == r.device() || x.device().is_cpu(), DeviceError, op, ": index ",
                   detail::describe(x), " is on another device than the tensor ", detail::describe(self));
        p.advanced.push_back({d, x.detach().to(kInt64).to(r.device())});
        ++d;
        break;
      }
    }
  }
  p.view = r;
  return p;
}

// NumPy's advanced indexing of `r` by int64 index tensors at distinct dims:
// out[b..., rest...] = r[.., idx_1[b], .., idx_k[b], ..] with the index
// shape B in front, or in place of the indexed dims when they are adjacent.
Tensor gather_advanced(const char* op, const Tensor& r, std::vector<AdvancedIndex> adv) {
  Shape b;
  for (const AdvancedIndex& a : adv) b = broadcast_shapes(b, a.index.sizes(), op);
  const int64_t nd = r.dim();
  bool adjacent = true;
  for (size_t j = 1; j < adv.size(); ++j) adjacent = adjacent && adv[j].dim == adv[j - 1].dim + 1;
  // Wrap negative positions, after checking every one is in [-size, size).
  Tensor linear;
  {
    NoGradGuard no_grad;
    int64_t stride = 1;
    for (size_t j = adv.size(); j-- > 0;) {
      const int64_t size = r.size(adv[j].dim);
      Tensor idx = adv[j].index;
      if (idx.numel() > 0) {
        const int64_t lo = amin(idx).item<int64_t>(), hi = amax(idx).item<int64_t>();
        KILN_CHECK(lo >= -size && hi < size, IndexError, op, ": index ", lo < -size ? lo : hi,
                   " is out of bounds for dim ", adv[j].dim, " with size ", size, " (shape ", shape_str(r.sizes()),
                   ")");
        idx = where(lt(idx, zeros_like(idx)), idx + size, idx);
      }
      Tensor term = idx * stride;
      linear = linear.defined() ? linear + term : term;
      stride *= size;
    }
    linear = linear.expand(b).reshape({-1});
  }
  Shape perm, rest_sizes;
  for (const AdvancedIndex& a : adv) perm.push_back(a.dim);
  int64_t flat = 1;
  for (const AdvancedIndex& a : adv) flat *= r.size(a.dim);
  for (int64_t i = 0; i < nd; ++i) {
    if (std::find(perm.begin(), perm.end(), i) == perm.end()) {
      perm.push_back(i);
      rest_sizes.push_back(r.size(i));
    }
  }
  Shape flat_shape = {flat};
  flat_shape.insert(flat_shape.end(), rest_sizes.begin(), rest_sizes.end());
  Tensor gathered = index_select(r.permute(perm).reshape(flat_shape), 0, linear);
  Shape out_shape = b;
  out_shape.insert(out_shape.end(), rest_sizes.begin(), rest_sizes.end());
  Tensor out = gathered.reshape(out_shape);
  const int64_t first = adv.front().dim;
  if (!adjacent || first == 0) return out;
  // [B..., before..., after...] -> [before..., B..., after...]
  const int64_t nb = static_cast<int64_t>(b.size());
  Shape order;
  for (int64_t i = 0; i < first; ++i) order.push_back(nb + i);
  for (int64_t i = 0; i < nb; ++i) order.push_back(i);
  for (int64_t i = nb + first; i < out.dim(); ++i) order.push_back(i);
  return out.permute(order);
}

Tensor index_impl(const char* op, const Tensor& self, ArrayRef<TensorIndex> indices) {
  Parsed p = apply_basic(op, self, indices);
  if (p.advanced.empty()) return p.view;
  return gather_advanced(op, p.view, std::move(p.advanced));
}

bool has_tensor_index(ArrayRef<TensorIndex> indices) {
  return std::any_of(indices.begin(), indices.end(), [](const TensorIndex& t) { return t.is_tensor(); });
}

// self with self[indices] = value, out of place (differentiable in self and value).
Tensor index_put_functional(const Tensor& self, ArrayRef<TensorIndex> indices, const Tensor& value) {
  const char* op = "index_put_";
  // Where each indexed element of self lives in self's row-major order.
  Tensor positions;
  {
    NoGradGuard no_grad;
    Tensor all = arange(self.numel(), TensorOptions(kInt64).device(self.device())).view(self.sizes());
    positions = index_impl(op, all, indices);
  }
  const Shape& target = positions.sizes();
  KILN_CHECK(broadcast_shapes(value.sizes(), target, op) == target, ShapeError, op, ": value of shape ",
             shape_str(value.sizes()), " cannot be broadcast to the indexed shape ", shape_str(target));
  Tensor flat_pos = positions.reshape({-1});
  Tensor flat_val = value.to(self.dtype()).expand(target).reshape({-1});
  if (has_tensor_index(indices) && flat_pos.numel() > 1) {
    // Repeated positions: the last write wins (what PyTorch's CPU loop does;
    // PyTorch leaves it unspecified). The kept occurrences are read on the host.
    Tensor kept;
    {
      NoGradGuard no_grad;
      const std::vector<int64_t> pos = flat_pos.to_vector<int64_t>();
      std::unordered_map<int64_t, int64_t> last;
      last.reserve(pos.size());
      for (size_t i = 0; i < pos.size(); ++i) last[pos[i]] = static_cast<int64_t>(i);
      if (last.size() < pos.size()) {
        std::vector<int64_t> keep;
        keep.reserve(last.size());
        for (size_t i = 0; i < pos.size(); ++i)
          if (last[pos[i]] == static_cast<int64_t>(i)) keep.push_back(static_cast<int64_t>(i));
        kept = tensor(keep, {static_cast<int64_t>(keep.size())}, kInt64).to(self.device());
        flat_pos = index_select(flat_pos, 0, kept);
      }
    }
    if (kept.defined()) flat_val = index_select(flat_val, 0, kept);  // recorded, so value gets its gradient
  }
  // bool has no scatter_add: such a tensor is computed as uint8 (no gradient either way).
  const DType compute = self.dtype() == kBool ? kUInt8 : self.dtype();
  Tensor flat_self = self.to(compute).reshape({-1});
  Tensor hit, written;
  {
    NoGradGuard no_grad;
    Tensor counts = scatter_add(zeros({self.numel()}, TensorOptions(kInt64).device(self.device())), 0, flat_pos,
                                ones({flat_pos.numel()}, TensorOptions(kInt64).device(self.device())));
    hit = ne(counts, zeros_like(counts));
  }
  written = scatter_add(zeros_like(flat_self), 0, flat_pos, flat_val.to(compute));
  return where(hit, written, flat_self).reshape(self.sizes()).to(self.dtype());
}

}  // namespace

Tensor Tensor::index(ArrayRef<indexing::TensorIndex> indices) const { return index_impl("index", *this, indices); }
Tensor Tensor::index(std::initializer_list<indexing::TensorIndex> indices) const {
  return index(ArrayRef<indexing::TensorIndex>(indices));
}

Tensor& Tensor::index_put_(ArrayRef<indexing::TensorIndex> indices, const Tensor& value_in) {
  const char* op = "index_put_";
  detail::check_defined(op, *this, "self");
  detail::check_defined(op, value_in, "value");
  Tensor value = value_in;
  if (value.device() != device()) {
    KILN_CHECK(value.dim() == 0, DeviceError, op, ": value ", detail::describe(value), " is on another device than ",
               detail::describe(*this));
    value = value.to(device());
  }
  detail::check_inplace(op, *this, {&value});
  const bool record = autograd::needs_grad({this, &value});
  if (!has_tensor_index(indices) && !record) {
    // Basic indices select a view: write through it.
    Tensor view = index_impl(op, *this, indices);
    KILN_CHECK(broadcast_shapes(value.sizes(), view.sizes(), op) == view.sizes(), ShapeError, op, ": value of shape ",
               shape_str(value.sizes()), " cannot be broadcast to the indexed shape ", shape_str(view.sizes()));
    NoGradGuard no_grad;
    view.copy_(value);
    return *this;
  }
  if (!record) {
    Tensor result = index_put_functional(*this, indices, value);
    NoGradGuard no_grad;
    copy_(result);
    return *this;
  }
  // Recorded: the out-of-place result becomes this tensor's value and history.
  Tensor before = clone();
  Tensor result = index_put_functional(before, indices, value);
  {
    NoGradGuard no_grad;
    detail::backend_of(*this).copy(result, *this);
  }
  detail::bump_version(*this);
  auto& meta = unsafe_impl()->meta();
  meta.requires_grad = true;
  meta.grad_fn = result.grad_fn();
  meta.output_nr = result.unsafe_impl()->autograd->output_nr;
  return *this;
}

Tensor& Tensor::index_put_(std::initializer_list<indexing::TensorIndex> indices, const Tensor& value) {
  return index_put_(ArrayRef<indexing::TensorIndex>(indices), value);
}
Tensor& Tensor::index_put_(ArrayRef<indexing::TensorIndex> indices, const Scalar& value) {
  detail::check_defined("index_put_", *this, "self");
  return index_put_(indices, scalar_tensor(value, TensorOptions(dtype()).device(device())));
}
Tensor& Tensor::index_put_(std::initializer_list<indexing::TensorIndex> indices, const Scalar& value) {
  return index_put_(ArrayRef<indexing::TensorIndex>(indices), value);
}

}  // namespace kiln
