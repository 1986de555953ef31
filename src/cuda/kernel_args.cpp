// See kernel_args.h.
#include "cuda/kernel_args.h"

#include "kiln/core/error.h"

namespace kiln::cuda {

kernels::StridedArray strided_array(const char* op, const Tensor& t) {
  KILN_CHECK(t.dim() <= kernels::kMaxDims, ShapeError, op, ": cuda kernels take at most ", kernels::kMaxDims,
             " dims, got a tensor of shape ", shape_str(t.sizes()));
  kernels::StridedArray a;
  a.data = t.raw_data_ptr();
  a.dtype = t.dtype();
  a.ndim = static_cast<int>(t.dim());
  for (int d = 0; d < a.ndim; ++d) {
    a.sizes[d] = t.size(d);
    a.strides[d] = t.stride(d);
  }
  return a;
}

std::vector<kernels::StridedArray> coalesced_arrays(const char* op, const std::vector<const Tensor*>& operands) {
  const Shape& shape = operands[0]->sizes();
  const size_t n = operands.size();
  std::vector<int64_t> sizes;
  std::vector<std::vector<int64_t>> strides(n);
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    sizes.push_back(shape[d]);
    for (size_t k = 0; k < n; ++k) strides[k].push_back(operands[k]->stride(static_cast<int64_t>(d)));
  }
  // A zero-size dim: nothing will be launched; keep one dim so numel() is 0.
  bool empty = false;
  for (int64_t s : sizes) empty = empty || s == 0;
  if (empty) {
    sizes.assign(1, 0);
    for (auto& s : strides) s.assign(1, 1);
  }
  for (size_t i = sizes.size(); i-- > 1;) {
    bool mergeable = true;
    for (size_t k = 0; k < n; ++k) mergeable = mergeable && strides[k][i - 1] == strides[k][i] * sizes[i];
    if (!mergeable) continue;
    sizes[i] *= sizes[i - 1];
    sizes.erase(sizes.begin() + static_cast<std::ptrdiff_t>(i - 1));
    for (auto& s : strides) s.erase(s.begin() + static_cast<std::ptrdiff_t>(i - 1));
  }
  KILN_CHECK(sizes.size() <= static_cast<size_t>(kernels::kMaxDims), ShapeError, op, ": cuda kernels take at most ",
             kernels::kMaxDims, " dims after merging contiguous ones; shape ", shape_str(shape), " leaves ",
             sizes.size());
  std::vector<kernels::StridedArray> arrays(n);
  for (size_t k = 0; k < n; ++k) {
    kernels::StridedArray& a = arrays[k];
    a.data = operands[k]->raw_data_ptr();
    a.dtype = operands[k]->dtype();
    a.ndim = static_cast<int>(sizes.size());
    for (int d = 0; d < a.ndim; ++d) {
      a.sizes[d] = sizes[d];
      a.strides[d] = strides[k][d];
    }
  }
  return arrays;
}

}  // namespace kiln::cuda
