// The two CPU convolution implementations behind CpuBackend::conv2d_*, also
// called directly by benchmarks/cpu/bench_conv.cpp to compare them.
// Tensors: NCHW / OIHW contiguous, f32 or f64 (oneDNN: f32 only).
#pragma once
#include "backend/backend.h"

namespace kiln::cpu {

enum class ConvImpl { Im2col, OneDnn };

// Whether CpuBackend may use oneDNN for float32 convolutions with a deep
// reduction (see the measurements in conv2d_cpu.cpp); KILN_CPU_CONV=im2col
// forces the im2col path everywhere.
ConvImpl default_conv_impl();
bool onednn_available();

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
