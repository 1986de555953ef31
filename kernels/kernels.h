// Launchers of kiln's hand-written CUDA kernels: the one header src/cuda and
// the benchmarks include, gathering one header per kernel file. Plain C++:
// raw device pointers, sizes, strides (StridedArray, at most 8 dims), a
// dtype and a stream; never a kiln::Tensor. Launchers are named
// launch_<op>, or launch_<op>_fwd / launch_<op>_bwd for an op with both.
//
// Every launcher opens an NVTX range named after its op (a profile reads
// like the op list), returns at once without launching when there is no
// work, enqueues on `stream`, checks cudaGetLastError, and synchronises the
// stream when KILN_CUDA_SYNC_DEBUG=1 (kernels/common/check.h), throwing
// kiln::CudaError that names the kernel. Unsupported dtypes throw
// kiln::DTypeError.
#pragma once
#include "attention.h"
#include "batch_norm.h"
#include "common/strided_array.h"
#include "conv2d.h"
#include "copy.h"
#include "cross_entropy.h"
#include "cumsum.h"
#include "elementwise.h"
#include "embedding.h"
#include "index.h"
#include "layer_norm.h"
#include "multinomial.h"
#include "multi_tensor_norm.h"
#include "optim.h"
#include "pool2d.h"
#include "random.h"
#include "reduce.h"
#include "softmax.h"
#include "sort.h"
