// Joining, indexing and scattering.
#pragma once
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln {

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
// Pieces of the given lengths along dim (they must sum to its size).
std::vector<Tensor> split(const Tensor& x, IntArrayRef split_sizes, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& x, IntArrayRef split_sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
// out[..., i, ...] = x[..., index[i], ...] along dim; index is 1-D int64/int32.
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
// out[i][j] = x[i][index[i][j]] for dim 1 (and likewise for any dim).
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
// out = self; out[i][index[i][j]] += src[i][j] for dim 1.
Tensor scatter_add(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src);
// x with value wherever mask (bool, broadcastable to x's shape) is true.
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value);
// The upper (triu) or lower (tril) triangle of the last two dims: element
// (i, j) is kept where j - i >= diagonal (triu) or j - i <= diagonal (tril),
// the rest are zero.
Tensor triu(const Tensor& x, int64_t diagonal = 0);
Tensor tril(const Tensor& x, int64_t diagonal = 0);
// The indices of the non-zero elements, int64 [count, x.dim()] in row-major
// order. Reads x on the host (a CUDA synchronisation), as PyTorch's.
Tensor nonzero(const Tensor& x);
// int64 [..., num_classes]; num_classes = -1 infers max + 1.
Tensor one_hot(const Tensor& labels, int64_t num_classes = -1);

// View functions, also available as Tensor methods.
Tensor reshape(const Tensor& x, IntArrayRef shape);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor permute(const Tensor& x, IntArrayRef dims);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor unsqueeze(const Tensor& x, int64_t dim);
// The shape a and b broadcast to; throws ShapeError naming `op` if they don't.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op = "broadcast");

}  // namespace kiln
