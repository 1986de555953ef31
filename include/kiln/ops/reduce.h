// Reductions over any set of dims (an empty dim list means all dims).
#pragma once
#include <optional>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln {

Tensor sum(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, const Shape& dims = {}, bool keepdim = false);
// max/min over one dim: values and the index of the first extreme.
struct ValuesIndices {
  Tensor values;
  Tensor indices;
};
ValuesIndices max(const Tensor& x, int64_t dim, bool keepdim = false);
ValuesIndices min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// correction = 1 is the unbiased (Bessel) estimate, 0 the population variance.
Tensor var(const Tensor& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Shape& dims, bool keepdim = false);
// For each of `tensors` (floating, one device, any mix of dtypes and
// strides): row i of the float64 [T, 2] result holds the L2 norm of
// tensors[i] over its finite elements and the number of its NaN or infinite
// elements. One fused reduction (summed in double, in a fixed order); the
// global norm of them all is sqrt(sum of the squared norms). Not differentiable.
Tensor multi_tensor_norm(const std::vector<Tensor>& tensors);

Tensor softmax(const Tensor& x, int64_t dim);
// Running sums along dim: out[..., k, ...] = sum of x[..., :k+1, ...].
// Integer and bool inputs give int64, as in PyTorch.
Tensor cumsum(const Tensor& x, int64_t dim);
Tensor log_softmax(const Tensor& x, int64_t dim);

}  // namespace kiln
