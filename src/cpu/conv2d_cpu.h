// The two CPU convolution implementations behind CpuBackend::conv2d_*, also
// called directly by benchmarks/cpu/bench_conv.cpp to compare them.
// Tensors: NCHW / OIHW contiguous, f32 or f64 (oneDNN: f32 only).
#pragma once
#include <optional>

#include "backend/backend.h"

namespace kiln::cpu {

// Measured: timed with both at first use, per geometry and pass.
enum class ConvImpl { Im2col, OneDnn, Measured };
enum class ConvPass { Forward, Backward };

// How CpuBackend picks the implementation of a float32 convolution: Measured
// by default when oneDNN is built in (see conv2d_cpu.cpp for why), else
// Im2col; KILN_CPU_CONV=im2col|onednn|auto overrides it.
ConvImpl default_conv_impl();
bool onednn_available();
// What the measurement chose for this geometry and pass, once it has run.
std::optional<ConvImpl> conv2d_measured_choice(const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                                               ConvPass pass, bool input_grad);
// The measurement behind that choice: each implementation's best time and
// the runs it is the best of (not counting the first, which builds oneDNN's
// primitives), over `passes` passes of both (conv2d_cpu.cpp says why several).
struct ConvMeasurement {
  ConvImpl pick = ConvImpl::Im2col;
  double im2col_seconds = 1e300, onednn_seconds = 1e300;
  int im2col_runs = 0, onednn_runs = 0, passes = 0;
};
std::optional<ConvMeasurement> conv2d_measurement(const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                                                  ConvPass pass, bool input_grad);

void conv2d_forward_im2col(const Tensor& x, const Tensor& w, const Tensor& b, const detail::Conv2dParams& p,
                           Tensor& out);
void conv2d_backward_im2col(const Tensor& gy, const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                            Tensor& gx, Tensor& gw, Tensor& gb);
// Throw InternalError when oneDNN was not built in.
void conv2d_forward_onednn(const Tensor& x, const Tensor& w, const Tensor& b, const detail::Conv2dParams& p,
                           Tensor& out);
void conv2d_backward_onednn(const Tensor& gy, const Tensor& x, const Tensor& w, const detail::Conv2dParams& p,
                            Tensor& gx, Tensor& gw, Tensor& gb);

}  // namespace kiln::cpu
