// Image ops beyond conv2d and the pools: transposed convolution, padding,
// resizing and group normalisation (torch.nn.functional's conv_transpose2d,
// pad, interpolate, group_norm). Images are NCHW.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "kiln/core/tensor.h"
#include "kiln/ops/nn.h"

namespace kiln {

// x [N,C_in,H,W] (or [C_in,H,W]), weight [C_in, C_out/groups, kh, kw], bias
// [C_out] or undefined -> [N, C_out, Ho, Wo] with
// Ho = (H - 1)*stride - 2*padding + dilation*(kh - 1) + output_padding + 1.
// The gradient of conv2d with respect to its input; output_padding must be
// smaller than stride or dilation (it picks one of the sizes that conv2d maps
// back to H). Argument order as torch.nn.functional.conv_transpose2d.
Tensor conv_transpose2d(const Tensor& input, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
                        Size2 padding = 0, Size2 output_padding = 0, int64_t groups = 1, Size2 dilation = 1);

// Pads the last len(pad)/2 dims: pad = {left, right} for the last dim, then
// {top, bottom} for the one before, ... (torch.nn.functional.pad). mode
// "constant" (with value; negative pads crop), "reflect" (mirror without the
// edge; pad < size), "replicate" (repeat the edge) or "circular" (wrap).
Tensor pad(const Tensor& x, const std::vector<int64_t>& pad, const std::string& mode = "constant",
           double value = 0.0);

// Resizes the spatial dims of x [N,C,H,W] to size (or input size * scale,
// floored) with mode "nearest" (source index floor(dst * in / out), as
// PyTorch's "nearest") or "bilinear" (align_corners: the corner pixels'
// centres are aligned, otherwise the corners themselves, with source
// positions clamped at 0).
Tensor interpolate(const Tensor& x, std::optional<Size2> size, std::optional<std::pair<double, double>> scale_factor,
                   const std::string& mode = "nearest", bool align_corners = false);

// x [N,C,*] normalised over each of num_groups groups of C/num_groups
// channels (and all of *), then weight/bias [C] (optional) per channel.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);

}  // namespace kiln
