// Neural-network functional ops: linear, convolution, pooling, batch norm,
// dropout and losses. Images are NCHW; a 3-D input [C,H,W] is treated as a
// batch of one. Semantics follow torch.nn.functional.
#pragma once
#include <cstdint>
#include <optional>
#include <string>

#include "kiln/core/tensor.h"

namespace kiln {

// A (height, width) pair that also accepts one number for both: conv2d(x, w, b, /*stride=*/2).
struct Size2 {
  int64_t h = 0, w = 0;
  Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose
  Size2(int64_t height, int64_t width) : h(height), w(width) {}
};

// y = x @ weight^T + bias; x [..., in], weight [out, in], bias [out] or undefined.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// x [N,C,H,W], weight [O, C/groups, kh, kw], bias [O] or undefined -> [N,O,Ho,Wo],
// Ho = (H + 2*padding - dilation*(kh-1) - 1) / stride + 1.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1, int64_t groups = 1);

// Pools over kernel windows; stride defaults to the kernel size; padding is
// at most half the kernel. ceil_mode rounds the output size up (a window
// must still start inside the input or its left padding).
Tensor max_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                  bool ceil_mode = false);
// count_include_pad: divide by the window size including zero padding
// (PyTorch's default) rather than by the number of real elements.
Tensor avg_pool2d(const Tensor& x, Size2 kernel, std::optional<Size2> stride = std::nullopt, Size2 padding = 0,
                  bool ceil_mode = false, bool count_include_pad = true);
// Output cell (i, j) averages rows [floor(i*H/Ho), ceil((i+1)*H/Ho)) and the
// same for columns.
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);

// Normalises x [N,C] or [N,C,H,W] per channel. training: batch statistics,
// and running_mean/var (if defined) are updated in place:
// running = (1 - momentum) * running + momentum * batch (unbiased variance).
// Otherwise the running statistics are used (they must be defined).
// weight/bias [C] may be undefined (no affine transform).
Tensor batch_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                  const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);
// relu(batch_norm(...)), the same values and gradients, in one op: on the CPU
// the relu and its backward ride along in the batch norm's passes over
// memory instead of two more (nn::Sequential uses it for a BatchNorm followed
// by a ReLU). On CUDA it runs the two ops.
Tensor batch_norm_relu(const Tensor& x, const Tensor& weight, const Tensor& bias, const Tensor& running_mean,
                       const Tensor& running_var, bool training, double momentum = 0.1, double eps = 1e-5);

// training: zeroes each element with probability p (Philox mask from the
// default generator) and scales the rest by 1/(1-p). Otherwise identity.
Tensor dropout(const Tensor& x, double p = 0.5, bool training = true);

// --- losses (reduction: "mean", "sum" or "none") ----------------------------
// logits [N,C] (or [N,C,d1,...]), target int64 class indices [N] (or [N,d1,...]).
// Targets equal to ignore_index contribute nothing, and "mean" divides by
// the number of the others. label_smoothing e mixes the one-hot target with
// the uniform distribution: q = (1-e)*onehot + e/C.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100,
                     double label_smoothing = 0.0, const std::string& reduction = "mean");
// log_probs [N,C] (or [N,C,d1,...]): loss_i = -log_probs[i, target_i].
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, int64_t ignore_index = -100,
                const std::string& reduction = "mean");
Tensor mse_loss(const Tensor& input, const Tensor& target, const std::string& reduction = "mean");
// -[pos_weight*y*log(sigmoid(x)) + (1-y)*log(1-sigmoid(x))], computed in the
// stable form (1-y)*x + (1+(pos_weight-1)*y) * (log(1+exp(-|x|)) + max(-x,0)).
// pos_weight (optional) broadcasts against the last dim.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const Tensor& pos_weight = Tensor(), const std::string& reduction = "mean");

}  // namespace kiln
