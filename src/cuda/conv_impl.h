// Which implementation runs a CUDA 2-D convolution forward: cuDNN (the
// default) or kiln's hand-written implicit-GEMM kernel (kernels/conv2d.cu).
// Internal to src/cuda, the CUDA tests and the benchmarks.
#pragma once

namespace kiln::cuda {

enum class ConvImpl { CuDNN, Kiln };

// KILN_CONV_IMPL=kiln|cudnn, read on first use, unless set_conv_impl ran.
// The kiln kernel is used only where it applies (groups = 1, f32/bf16/f16,
// contiguous NCHW); anything else goes to cuDNN.
ConvImpl conv_impl();
void set_conv_impl(ConvImpl impl);

}  // namespace kiln::cuda
