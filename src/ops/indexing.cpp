// cat, stack, split, chunk, index_select, gather, scatter_add, one_hot.
#include <optional>

#include "autograd/derivatives/indexing.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/indexing.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"
#include "ops/op_util.h"

namespace kiln {

namespace {

// Index tensors are int64 or int32 (converted), and contiguous for the backend.
Tensor as_index(const char* op, const Tensor& index) {
  detail::check_defined(op, index, "index");
  KILN_CHECK(index.dtype() == kInt64 || index.dtype() == kInt32, DTypeError, op,
             ": index must be int64 or int32, got ", detail::describe(index));
  return index.detach().to(kInt64).contiguous();
}

// Throws IndexError naming op unless every index value is in [0, size).
void check_index_range(const char* op, const Tensor& index, int64_t size, int64_t dim) {
  if (index.numel() == 0) return;
  NoGradGuard no_grad;
  const int64_t lo = amin(index).item<int64_t>(), hi = amax(index).item<int64_t>();
  KILN_CHECK(lo >= 0 && hi < size, IndexError, op, ": index values must be in [0, ", size, ") for dim ", dim,
             ", got values in [", lo, ", ", hi, "]");
}

}  // namespace

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
  KILN_CHECK(!tensors.empty(), ValueError, "cat: expected a non-empty list of tensors");
  const Tensor& first = tensors[0];
  detail::check_defined("cat", first);
  const int64_t d = detail::wrap_dim("cat", dim, first.dim());
  KILN_CHECK(first.dim() > 0, ShapeError, "cat: zero-dimensional tensors cannot be concatenated");
  DType dtype = first.dtype();
  Shape out_shape = first.sizes();
  int64_t total = 0;
  std::vector<int64_t> lengths;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const Tensor& t = tensors[i];
    detail::check_defined("cat", t);
    KILN_CHECK(t.device() == first.device(), DeviceError, "cat: tensor 0 is on ", first.device(), " but tensor ", i,
               " is on ", t.device());
    KILN_CHECK(t.dim() == first.dim(), ShapeError, "cat: tensor 0 has shape ", shape_str(first.sizes()),
               " but tensor ", i, " has shape ", shape_str(t.sizes()), " (different rank)");
    for (int64_t j = 0; j < t.dim(); ++j)
      KILN_CHECK(j == d || t.size(j) == first.size(j), ShapeError, "cat: sizes must match except in dim ", d,
                 "; tensor 0 has shape ", shape_str(first.sizes()), ", tensor ", i, " has ", shape_str(t.sizes()));
    dtype = promote_types(dtype, t.dtype());
    lengths.push_back(t.size(d));
    total += t.size(d);
  }
  out_shape[d] = total;
  Tensor out = detail::make_empty(out_shape, dtype, first.device());
  {
    NoGradGuard no_grad;
    int64_t start = 0;
    for (size_t i = 0; i < tensors.size(); ++i) {
      if (lengths[i] > 0) {
        Tensor window = out.narrow(d, start, lengths[i]);
        detail::backend_of(out).copy(tensors[i].detach(), window);
      }
      start += lengths[i];
    }
  }
  if (autograd::needs_grad(tensors)) {
    auto node = std::make_shared<autograd::CatBackward>();
    node->dim = d;
    node->lengths = lengths;
    autograd::set_history(out, node, tensors);
  }
  return out;
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
  KILN_CHECK(!tensors.empty(), ValueError, "stack: expected a non-empty list of tensors");
  const int64_t d = detail::wrap_dim("stack", dim, tensors[0].dim() + 1);
  std::vector<Tensor> parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    KILN_CHECK(tensors[i].sizes() == tensors[0].sizes(), ShapeError, "stack: expects each tensor to be equal size, ",
               "but got ", shape_str(tensors[0].sizes()), " at entry 0 and ", shape_str(tensors[i].sizes()),
               " at entry ", i);
    parts.push_back(tensors[i].unsqueeze(d));
  }
  return cat(parts, d);
}

namespace {

// Views of consecutive pieces of x along d; with autograd, one SplitBackward
// for all of them (a single piece keeps narrow's SliceBackward).
std::vector<Tensor> split_parts(const Tensor& x, int64_t d, const std::vector<int64_t>& sizes) {
  const bool record = sizes.size() > 1 && autograd::needs_grad({&x});
  std::vector<Tensor> parts;
  {
    std::optional<NoGradGuard> no_grad;
    if (record) no_grad.emplace();
    int64_t start = 0;
    for (int64_t s : sizes) {
      parts.push_back(x.narrow(d, start, s));
      start += s;
    }
  }
  if (record) {
    auto node = std::make_shared<autograd::SplitBackward>();
    node->dim = d;
    for (const Tensor& p : parts) node->part_sizes.push_back(p.sizes());
    node->options = x.options();
    autograd::set_history_outputs(parts, node, {&x});
  }
  return parts;
}

}  // namespace

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
  detail::check_defined("split", x);
  KILN_CHECK(x.dim() > 0, ShapeError, "split: expects a tensor with at least 1 dim, got a 0-dim tensor");
  KILN_CHECK(split_size > 0, ValueError, "split: split_size must be positive, got ", split_size);
  const int64_t d = detail::wrap_dim("split", dim, x.dim());
  // A size-0 dim splits into one empty part, as in PyTorch.
  if (x.size(d) == 0) return {x.narrow(d, 0, 0)};
  std::vector<int64_t> sizes;
  for (int64_t start = 0; start < x.size(d); start += split_size) sizes.push_back(std::min(split_size, x.size(d) - start));
  return split_parts(x, d, sizes);
}

std::vector<Tensor> split_with_sizes(const Tensor& x, IntArrayRef split_sizes, int64_t dim) {
  detail::check_defined("split_with_sizes", x);
  KILN_CHECK(x.dim() > 0, ShapeError, "split_with_sizes: expects a tensor with at least 1 dim, got a 0-dim tensor");
  const int64_t d = detail::wrap_dim("split_with_sizes", dim, x.dim());
  int64_t total = 0;
  for (int64_t s : split_sizes) {
    KILN_CHECK(s >= 0, ValueError, "split_with_sizes: sizes must be non-negative, got ", shape_str(split_sizes));
    total += s;
  }
  KILN_CHECK(total == x.size(d), ValueError, "split_with_sizes: sizes ", shape_str(split_sizes), " sum to ", total,
             " but dim ", d, " of input ", shape_str(x.sizes()), " has size ", x.size(d));
  return split_parts(x, d, std::vector<int64_t>(split_sizes.begin(), split_sizes.end()));
}

std::vector<Tensor> split(const Tensor& x, IntArrayRef split_sizes, int64_t dim) {
  return split_with_sizes(x, split_sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
  detail::check_defined("chunk", x);
  KILN_CHECK(x.dim() > 0, ShapeError, "chunk: expects a tensor with at least 1 dim, got a 0-dim tensor");
  KILN_CHECK(chunks > 0, ValueError, "chunk: number of chunks must be positive, got ", chunks);
  const int64_t d = detail::wrap_dim("chunk", dim, x.dim());
  return split(x, std::max<int64_t>((x.size(d) + chunks - 1) / chunks, 1), d);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index_in) {
  detail::check_defined("index_select", x);
  Tensor index = as_index("index_select", index_in);
  detail::check_same_device("index_select", {&x, &index});
  KILN_CHECK(index.dim() <= 1, ShapeError, "index_select: index must be 0-D or 1-D, got ", detail::describe(index_in));
  const int64_t d = detail::wrap_dim("index_select", dim, x.dim());
  KILN_CHECK(x.dim() > 0 || index.numel() == 1, ShapeError, "index_select: a 0-dim input takes exactly one index, got ",
             index.numel(), " (index ", detail::describe(index_in), ")");
  Tensor xs = x.dim() == 0 ? x.reshape({1}) : x;
  check_index_range("index_select", index, xs.size(d), d);
  Shape out_shape = xs.sizes();
  out_shape[d] = index.numel();
  detail::check_computable("index_select", x);
  Tensor out = detail::make_empty(out_shape, x.dtype(), x.device());
  if (out.numel() > 0) detail::backend_of(x).index_select(xs.detach(), d, index.reshape({-1}), out);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::IndexSelectBackward>();
    node->index = autograd::SavedTensor(index.reshape({-1}));
    node->input_sizes = xs.sizes();
    node->dim = d;
    autograd::set_history(out, node, {&xs});
  }
  return x.dim() == 0 ? out.reshape({}) : out;
}

Tensor gather(const Tensor& x, int64_t dim, const Tensor& index_in) {
  detail::check_defined("gather", x);
  if (x.dim() == 0 && index_in.defined() && index_in.dim() == 0) {
    // A 0-dim gather is the 1-element gather; the backends index dim 0.
    detail::wrap_dim("gather", dim, 0);
    return gather(x.reshape({1}), 0, index_in.reshape({1})).reshape({});
  }
  Tensor index = as_index("gather", index_in);
  detail::check_same_device("gather", {&x, &index});
  const int64_t d = detail::wrap_dim("gather", dim, x.dim());
  KILN_CHECK(index.dim() == x.dim(), ShapeError, "gather: index ", shape_str(index.sizes()),
             " must have the same rank as input ", shape_str(x.sizes()));
  for (int64_t j = 0; j < x.dim(); ++j)
    KILN_CHECK(j == d || index.size(j) <= x.size(j), ShapeError, "gather: index ", shape_str(index.sizes()),
               " is larger than input ", shape_str(x.sizes()), " in dim ", j);
  if (x.dim() > 0) check_index_range("gather", index, x.size(d), d);
  detail::check_computable("gather", x);
  Tensor out = detail::make_empty(index.sizes(), x.dtype(), x.device());
  if (out.numel() > 0) detail::backend_of(x).gather(x.detach(), d, index, out);
  if (autograd::needs_grad({&x})) {
    auto node = std::make_shared<autograd::GatherBackward>();
    node->index = autograd::SavedTensor(index);
    node->input_sizes = x.sizes();
    node->dim = d;
    autograd::set_history(out, node, {&x});
  }
  return out;
}

Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index_in, const Tensor& src) {
  detail::check_defined("scatter_add", self, "self");
  detail::check_defined("scatter_add", src, "src");
  if (self.dim() == 0 && index_in.defined() && index_in.dim() == 0 && src.dim() == 0) {
    // A 0-dim scatter is the 1-element scatter; the backends index dim 0.
    detail::wrap_dim("scatter_add", dim, 0);
    return scatter_add(self.reshape({1}), 0, index_in.reshape({1}), src.reshape({1})).reshape({});
  }
  Tensor index = as_index("scatter_add", index_in);
  detail::check_same_device("scatter_add", {&self, &index, &src});
  KILN_CHECK(self.dtype() == src.dtype(), DTypeError, "scatter_add: self ", detail::describe(self), " and src ",
             detail::describe(src), " must have the same dtype");
  const int64_t d = detail::wrap_dim("scatter_add", dim, self.dim());
  KILN_CHECK(index.dim() == self.dim() && src.dim() == self.dim(), ShapeError, "scatter_add: index ",
             shape_str(index.sizes()), ", src ", shape_str(src.sizes()), " and self ", shape_str(self.sizes()),
             " must have the same rank");
  for (int64_t j = 0; j < self.dim(); ++j) {
    KILN_CHECK(index.size(j) <= src.size(j) && (j == d || index.size(j) <= self.size(j)), ShapeError,
               "scatter_add: index ", shape_str(index.sizes()), " must not be larger than src ",
               shape_str(src.sizes()), " in any dim, nor than self ", shape_str(self.sizes()), " outside dim ", d);
  }
  if (self.dim() > 0) check_index_range("scatter_add", index, self.size(d), d);
  detail::check_computable("scatter_add", self);
  detail::check_computable("scatter_add", src);
  Tensor out = self.detach().clone();
  if (index.numel() > 0) {
    Tensor src_window = src.detach();
    for (int64_t j = 0; j < src.dim(); ++j) src_window = src_window.narrow(j, 0, index.size(j));
    detail::backend_of(out).scatter_add(out, d, index, src_window);
  }
  if (autograd::needs_grad({&self, &src})) {
    KILN_CHECK(index.sizes() == src.sizes() || !src.requires_grad(), ShapeError,
               "scatter_add: gradient for src needs index and src of the same shape, got ", shape_str(index.sizes()),
               " and ", shape_str(src.sizes()));
    auto node = std::make_shared<autograd::ScatterAddBackward>();
    node->index = autograd::SavedTensor(index);
    node->dim = d;
    autograd::set_history(out, node, {&self, &src});
  }
  return out;
}

Tensor nonzero(const Tensor& x) {
  detail::check_defined("nonzero", x);
  NoGradGuard no_grad;
  // The count decides the output shape, so the mask is read on the host.
  const std::vector<uint8_t> mask = ne(x, zeros_like(x)).to(kUInt8).to_vector<uint8_t>();
  const Shape& sizes = x.sizes();
  const int64_t nd = x.dim();
  std::vector<int64_t> coords;
  std::vector<int64_t> idx(static_cast<size_t>(nd), 0);
  for (size_t i = 0; i < mask.size(); ++i) {
    if (mask[i]) coords.insert(coords.end(), idx.begin(), idx.end());
    for (int64_t d = nd - 1; d >= 0; --d) {  // row-major increment
      if (++idx[static_cast<size_t>(d)] < sizes[static_cast<size_t>(d)]) break;
      idx[static_cast<size_t>(d)] = 0;
    }
  }
  const int64_t count = nd == 0 ? static_cast<int64_t>(mask.size() == 1 && mask[0]) :
                                  static_cast<int64_t>(coords.size()) / nd;
  Tensor out = coords.empty() ? zeros({count, nd}, kInt64) : tensor(coords, {count, nd}, kInt64);
  return out.to(x.device());
}

Tensor one_hot(const Tensor& labels, int64_t num_classes) {
  detail::check_defined("one_hot", labels);
  KILN_CHECK(labels.dtype() == kInt64 || labels.dtype() == kInt32, DTypeError,
             "one_hot: labels must be an integer tensor (int64/int32), got ", detail::describe(labels));
  NoGradGuard no_grad;
  Tensor l = labels.to(kInt64);
  if (num_classes < 0) {
    KILN_CHECK(l.numel() > 0, ValueError, "one_hot: cannot infer num_classes from an empty tensor");
    num_classes = amax(l).item<int64_t>() + 1;
  }
  if (l.numel() > 0) {
    const int64_t lo = amin(l).item<int64_t>(), hi = amax(l).item<int64_t>();
    KILN_CHECK(lo >= 0 && hi < num_classes, IndexError, "one_hot: class values must be in [0, ", num_classes,
               "), got values in [", lo, ", ", hi, "]");
  }
  return eq(l.unsqueeze(-1), arange(num_classes, TensorOptions(kInt64).device(l.device()))).to(kInt64);
}

}  // namespace kiln
