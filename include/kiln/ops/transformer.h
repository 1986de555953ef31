// Transformer building blocks with torch.nn.functional's semantics:
// layer norm, RMS norm, embedding lookup and scaled dot-product attention.
// Each is one fused primitive on every device (src/backend/backend.h).
#pragma once
#include <cstdint>
#include <optional>

#include "kiln/core/tensor.h"

namespace kiln {

// Normalises over the trailing dims given by normalized_shape (x's last
// dims): y = (x - mean) / sqrt(var + eps) * weight + bias, with the biased
// variance. weight and bias have normalized_shape (or are undefined).
// Statistics are computed in f32 for f16/bf16/f32 inputs (f64 for f64).
Tensor layer_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                  const Tensor& bias = Tensor(), double eps = 1e-5);
// y = x / sqrt(mean(x^2) + eps) * weight over the trailing normalized_shape
// dims. eps defaults to the machine epsilon of x's dtype, as in PyTorch.
Tensor rms_norm(const Tensor& x, const Shape& normalized_shape, const Tensor& weight = Tensor(),
                std::optional<double> eps = std::nullopt);

// Rows of weight [num_embeddings, dim] picked by ids (int64 or int32, any
// shape): the result has ids' shape + [dim]. The gradient of weight is the
// sum of the gradient rows of each id (a scatter-add); padding_idx (negative
// counts from the end) gets no gradient. An id outside [0, num_embeddings)
// is an IndexError, raised at once on the CPU and at the next host
// synchronisation on a GPU (the lookup gives a zero row meanwhile).
Tensor embedding(const Tensor& weight, const Tensor& ids, std::optional<int64_t> padding_idx = std::nullopt);

// softmax(q k^T * scale + mask) v, as torch.nn.functional's. q [..., Tq, D],
// k [..., Tk, D], v [..., Tk, Dv] with the same leading dims (usually [B, H]),
// one floating dtype; the result is [..., Tq, Dv]. attn_mask (optional)
// broadcasts to [..., Tq, Tk]: bool (true = the key takes part) or floating
// (added to the scores). is_causal lets query i see keys j <= i (top-left
// aligned, so with Tq != Tk the last queries do not see the last keys:
// PyTorch's convention) and cannot be combined with attn_mask. dropout_p > 0
// drops attention probabilities (Philox, from the default generator: the
// mask dropout() would draw for a float32 [..., Tq, Tk] tensor) and scales
// the rest by 1/(1 - dropout_p); pass 0 outside training. scale defaults to
// 1/sqrt(D). A query that no key may see gets zeros (PyTorch's math path
// gives NaN there, its fused paths zeros). The scores are never held
// whole: the kernels keep one tile of them at a time (online softmax), and
// the backward recomputes them from the saved log-sum-exp. attn_mask gets
// no gradient; a mask that requires grad is refused.
Tensor scaled_dot_product_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                                    const Tensor& attn_mask = Tensor(), double dropout_p = 0.0, bool is_causal = false,
                                    std::optional<double> scale = std::nullopt);

}  // namespace kiln
