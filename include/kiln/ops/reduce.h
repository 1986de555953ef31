// Reductions over any set of dims (an empty dim list means all dims).
#pragma once
#include <optional>
#include <tuple>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln {

// dims is an IntArrayRef: sum(x, 1), sum(x, {0, 2}) or a Shape.
Tensor sum(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
Tensor amax(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
Tensor amin(const Tensor& x, IntArrayRef dims = {}, bool keepdim = false);
// max/min over one dim: (values, index of the first extreme), as LibTorch:
//   auto [values, indices] = max(x, 1);   Tensor pred = std::get<1>(max(x, 1));
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor max(const Tensor& x);  // over all elements
Tensor min(const Tensor& x);
Tensor argmax(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
Tensor argmin(const Tensor& x, std::optional<int64_t> dim = std::nullopt, bool keepdim = false);
// correction = 1 is the unbiased (Bessel) estimate, 0 the population variance.
Tensor var(const Tensor& x, IntArrayRef dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor std(const Tensor& x, IntArrayRef dims = {}, int64_t correction = 1, bool keepdim = false);
Tensor logsumexp(const Tensor& x, IntArrayRef dims, bool keepdim = false);
// The p-norm (sum |x|^p)^(1/p) over dims (all when empty); p = inf is the
// largest |x|, p = 0 the number of non-zeros. The gradient at a zero norm is
// zero (not NaN), as PyTorch's.
Tensor norm(const Tensor& x, const Scalar& p = 2, IntArrayRef dims = {}, bool keepdim = false);
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
