// CudaBackend::conv2d_forward / conv2d_backward through cuDNN's convolution
// API (forward, backward data, backward filter, bias), or, for the forward
// when KILN_CONV_IMPL=kiln, the hand-written implicit-GEMM kernel.
//
// Algorithms: the first call for a (direction, device, dtype, sizes, strides,
// params, math mode) key runs cudnnFind*AlgorithmEx on the call's own buffers
// (the outputs are overwritten anyway) with a workspace from the caching
// allocator, and caches the fastest algorithm that fits; later calls reuse it.
// Math: f16/bf16 use tensor cores with f32 accumulation; f32 uses FMA-only
// kernels unless kiln::cuda::allow_tf32() (cuDNN's DEFAULT math would let f32
// convolutions run in TF32 on Ampere and newer); f64 runs as it is.
// Layout: descriptors carry the tensors' real strides, so a channels-last
// (NHWC) x/out and an NHWC weight are accepted without a copy.
// Status: compiled, not yet run on a GPU.
#include <algorithm>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/tensor_impl.h"
#include "ops/op_util.h"
#include "cuda/context.h"
#include "cuda/conv_impl.h"
#include "cuda/cuda_backend.h"
#include "cuda/cudnn_util.h"
#include "kernels.h"
#include "kiln/cuda.h"

namespace kiln::cuda {

namespace {

enum class ConvDir : int { Forward, BackwardData, BackwardFilter };

cudnnMathType_t math_type_for(DType dtype) {
  if (dtype == kFloat16 || dtype == kBFloat16) return CUDNN_TENSOR_OP_MATH;
  if (dtype == kFloat32) return allow_tf32() ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH;
  return CUDNN_DEFAULT_MATH;
}

// Descriptors of one convolution: x, w, y (= out or gy) and the convolution.
struct ConvDescs {
  cudnn::TensorDesc x, y;
  cudnn::FilterDesc w;
  cudnn::ConvDesc conv;
  DType dtype;
  cudnnMathType_t math;
  std::string key;  // what the algorithm choice depends on (without the direction)
};

void append_tensor_key(std::string& key, const Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d) key += std::to_string(t.size(d)) + "," + std::to_string(t.stride(d)) + ";";
  key += "|";
}

void describe_conv(ConvDescs& d, const Tensor& x, const Tensor& w, const Tensor& y, const detail::Conv2dParams& p,
                   const char* op) {
  d.dtype = x.dtype();
  d.math = math_type_for(d.dtype);
  d.x.set_4d(d.dtype, cudnn::sizes4(x, op), cudnn::strides4(x, op), op);
  d.y.set_4d(d.dtype, cudnn::sizes4(y, op), cudnn::strides4(y, op), op);
  cudnnTensorFormat_t wformat = CUDNN_TENSOR_NCHW;
  if (!w.is_contiguous()) {
    KILN_CHECK(cudnn::is_channels_last(w), ValueError, op, ": weight ", detail::describe(w),
               " must be contiguous (NCHW) or channels-last");
    wformat = CUDNN_TENSOR_NHWC;
  }
  d.w.set(d.dtype, wformat, cudnn::sizes4(w, op), op);
  auto as_int = [&](int64_t v, const char* what) {
    KILN_CHECK(v >= 0 && v <= (int64_t{1} << 30), ValueError, op, ": ", what, " ", v, " is out of range");
    return static_cast<int>(v);
  };
  KILN_CUDNN_CHECK(cudnnSetConvolution2dDescriptor(
      d.conv.get(), as_int(p.padding[0], "padding"), as_int(p.padding[1], "padding"), as_int(p.stride[0], "stride"),
      as_int(p.stride[1], "stride"), as_int(p.dilation[0], "dilation"), as_int(p.dilation[1], "dilation"),
      CUDNN_CROSS_CORRELATION, cudnn::compute_type(d.dtype)));
  KILN_CUDNN_CHECK(cudnnSetConvolutionGroupCount(d.conv.get(), as_int(p.groups, "groups")));
  KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), d.math));

  d.key = std::to_string(x.device().index()) + "/" + dtype_name(d.dtype) + "/" + std::to_string(d.math) + "/";
  append_tensor_key(d.key, x);
  append_tensor_key(d.key, w);
  append_tensor_key(d.key, y);
  for (int i = 0; i < 2; ++i)
    d.key += std::to_string(p.stride[i]) + "," + std::to_string(p.padding[i]) + "," + std::to_string(p.dilation[i]) +
             ";";
  d.key += std::to_string(p.groups);
}

struct AlgoChoice {
  int algo = 0;
  cudnnMathType_t math = CUDNN_DEFAULT_MATH;
  size_t workspace = 0;
};

std::mutex g_algo_mutex;
std::unordered_map<std::string, AlgoChoice>& algo_cache() {
  static auto* cache = new std::unordered_map<std::string, AlgoChoice>();  // outlives static destructors
  return *cache;
}

// The most scratch memory cudnnFind may use while trying algorithms.
constexpr size_t kMaxFindWorkspace = size_t{1} << 30;

Tensor workspace_tensor(size_t bytes, Device device) {
  return detail::make_empty({static_cast<int64_t>(bytes > 0 ? bytes : 1)}, kUInt8, device);
}

// A workspace for cudnnFind: the largest any algorithm asks for (capped);
// if that much cannot be had, none (algorithms that need none still run).
Tensor find_workspace(size_t wanted, Device device, size_t& bytes) {
  bytes = std::min(wanted, kMaxFindWorkspace);
  try {
    return workspace_tensor(bytes, device);
  } catch (const CudaError&) {
    bytes = 0;
    return workspace_tensor(0, device);
  }
}

// Picks the first (fastest) successful result that fits the workspace it was found with.
template <class Perf>
AlgoChoice pick(const Perf* perf, int count, size_t workspace_limit, const char* op) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= workspace_limit)
      return {static_cast<int>(perf[i].algo), perf[i].mathType, perf[i].memory};
  }
  throw CudaError(detail::str_cat(op, ": cuDNN found no working algorithm for this convolution"));
}

AlgoChoice lookup(ConvDir dir, const std::string& key) {
  std::lock_guard<std::mutex> lock(g_algo_mutex);
  auto it = algo_cache().find(std::to_string(static_cast<int>(dir)) + ":" + key);
  if (it == algo_cache().end()) return AlgoChoice{-1};
  return it->second;
}
void remember(ConvDir dir, const std::string& key, const AlgoChoice& choice) {
  std::lock_guard<std::mutex> lock(g_algo_mutex);
  algo_cache()[std::to_string(static_cast<int>(dir)) + ":" + key] = choice;
}

AlgoChoice forward_algo(cudnnHandle_t handle, ConvDescs& d, const Tensor& x, const Tensor& w, Tensor& y) {
  AlgoChoice c = lookup(ConvDir::Forward, d.key);
  if (c.algo >= 0) return c;
  size_t wanted = 0;
  for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; ++a) {
    size_t sz = 0;
    if (cudnnGetConvolutionForwardWorkspaceSize(handle, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                static_cast<cudnnConvolutionFwdAlgo_t>(a), &sz) == CUDNN_STATUS_SUCCESS)
      wanted = std::max(wanted, sz);
  }
  size_t bytes = 0;
  Tensor ws = find_workspace(wanted, x.device(), bytes);
  cudnnConvolutionFwdAlgoPerf_t perf[CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
  int count = 0;
  KILN_CUDNN_CHECK(cudnnFindConvolutionForwardAlgorithmEx(
      handle, d.x.get(), x.raw_data_ptr(), d.w.get(), w.raw_data_ptr(), d.conv.get(), d.y.get(), y.raw_data_ptr(),
      CUDNN_CONVOLUTION_FWD_ALGO_COUNT, &count, perf, ws.raw_data_ptr(), bytes));
  c = pick(perf, count, bytes, "conv2d");
  remember(ConvDir::Forward, d.key, c);
  return c;
}

AlgoChoice backward_data_algo(cudnnHandle_t handle, ConvDescs& d, const Tensor& gy, const Tensor& w, Tensor& gx) {
  AlgoChoice c = lookup(ConvDir::BackwardData, d.key);
  if (c.algo >= 0) return c;
  size_t wanted = 0;
  for (int a = 0; a < CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT; ++a) {
    size_t sz = 0;
    if (cudnnGetConvolutionBackwardDataWorkspaceSize(handle, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                     static_cast<cudnnConvolutionBwdDataAlgo_t>(a),
                                                     &sz) == CUDNN_STATUS_SUCCESS)
      wanted = std::max(wanted, sz);
  }
  size_t bytes = 0;
  Tensor ws = find_workspace(wanted, gy.device(), bytes);
  cudnnConvolutionBwdDataAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT];
  int count = 0;
  KILN_CUDNN_CHECK(cudnnFindConvolutionBackwardDataAlgorithmEx(
      handle, d.w.get(), w.raw_data_ptr(), d.y.get(), gy.raw_data_ptr(), d.conv.get(), d.x.get(), gx.raw_data_ptr(),
      CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT, &count, perf, ws.raw_data_ptr(), bytes));
  c = pick(perf, count, bytes, "conv2d_backward (input)");
  remember(ConvDir::BackwardData, d.key, c);
  return c;
}

AlgoChoice backward_filter_algo(cudnnHandle_t handle, ConvDescs& d, const Tensor& x, const Tensor& gy, Tensor& gw) {
  AlgoChoice c = lookup(ConvDir::BackwardFilter, d.key);
  if (c.algo >= 0) return c;
  size_t wanted = 0;
  for (int a = 0; a < CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT; ++a) {
    size_t sz = 0;
    if (cudnnGetConvolutionBackwardFilterWorkspaceSize(handle, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                       static_cast<cudnnConvolutionBwdFilterAlgo_t>(a),
                                                       &sz) == CUDNN_STATUS_SUCCESS)
      wanted = std::max(wanted, sz);
  }
  size_t bytes = 0;
  Tensor ws = find_workspace(wanted, x.device(), bytes);
  cudnnConvolutionBwdFilterAlgoPerf_t perf[CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT];
  int count = 0;
  KILN_CUDNN_CHECK(cudnnFindConvolutionBackwardFilterAlgorithmEx(
      handle, d.x.get(), x.raw_data_ptr(), d.y.get(), gy.raw_data_ptr(), d.conv.get(), d.w.get(), gw.raw_data_ptr(),
      CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT, &count, perf, ws.raw_data_ptr(), bytes));
  c = pick(perf, count, bytes, "conv2d_backward (weight)");
  remember(ConvDir::BackwardFilter, d.key, c);
  return c;
}

// A [1, O, 1, 1] descriptor for the bias (or its gradient).
void describe_bias(cudnn::TensorDesc& desc, const Tensor& bias, const char* op) {
  KILN_CHECK(bias.dim() == 1 && bias.is_contiguous(), ShapeError, op, ": bias must be a contiguous 1-D tensor, got ",
             detail::describe(bias));
  desc.set_channel(cudnn::data_type(bias.dtype(), op), bias.size(0), op);
}

bool kiln_kernel_applies(const Tensor& x, const Tensor& w, const Tensor& out, const detail::Conv2dParams& p) {
  return p.groups == 1 && kernels::conv2d_implicit_gemm_supports(x.dtype()) && x.is_contiguous() &&
         w.is_contiguous() && out.is_contiguous();
}

void run_kiln_conv(const Tensor& x, const Tensor& w, const Tensor& bias, const detail::Conv2dParams& p, Tensor& out,
                   cudaStream_t stream) {
  kernels::Conv2dShape s;
  s.N = x.size(0), s.C = x.size(1), s.H = x.size(2), s.W = x.size(3);
  s.K = w.size(0), s.R = w.size(2), s.S = w.size(3);
  s.P = out.size(2), s.Q = out.size(3);
  s.stride_h = static_cast<int>(p.stride[0]), s.stride_w = static_cast<int>(p.stride[1]);
  s.pad_h = static_cast<int>(p.padding[0]), s.pad_w = static_cast<int>(p.padding[1]);
  s.dil_h = static_cast<int>(p.dilation[0]), s.dil_w = static_cast<int>(p.dilation[1]);
  kernels::launch_conv2d_implicit_gemm_fwd(x.raw_data_ptr(), w.raw_data_ptr(),
                                           bias.defined() ? bias.raw_data_ptr() : nullptr, out.raw_data_ptr(),
                                           x.dtype(), s, stream);
}

}  // namespace

void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 const detail::Conv2dParams& p, Tensor& out) {
  const char* op = "conv2d";
  if (out.numel() == 0) return;
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  const cudaStream_t stream = current_stream(dev);
  if (conv_impl() == ConvImpl::Kiln && kiln_kernel_applies(x, weight, out, p)) {
    run_kiln_conv(x, weight, bias, p, out, stream);
    return;
  }
  cudnnHandle_t handle = cudnn_handle(dev);
  const cudnn::Scale one(1.0, x.dtype()), zero(0.0, x.dtype());
  if (x.numel() == 0 || weight.numel() == 0) {  // an empty sum: out = bias (or 0); cuDNN rejects zero sizes
    fill(out, Scalar(0.0));
  } else {
    ConvDescs d;
    describe_conv(d, x, weight, out, p, op);
    const AlgoChoice c = forward_algo(handle, d, x, weight, out);
    KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
    Tensor ws = workspace_tensor(c.workspace, x.device());
    KILN_CUDNN_CHECK(cudnnConvolutionForward(handle, one.ptr(), d.x.get(), x.raw_data_ptr(), d.w.get(),
                                             weight.raw_data_ptr(), d.conv.get(),
                                             static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws.raw_data_ptr(),
                                             c.workspace, zero.ptr(), d.y.get(), out.raw_data_ptr()));
  }
  if (bias.defined()) {
    cudnn::TensorDesc bdesc, ydesc;
    describe_bias(bdesc, bias, op);
    ydesc.set_4d(out.dtype(), cudnn::sizes4(out, op), cudnn::strides4(out, op), op);
    KILN_CUDNN_CHECK(
        cudnnAddTensor(handle, one.ptr(), bdesc.get(), bias.raw_data_ptr(), one.ptr(), ydesc.get(), out.raw_data_ptr()));
  }
}

void CudaBackend::conv2d_backward(const Tensor& gy, const Tensor& x, const Tensor& weight,
                                  const detail::Conv2dParams& p, Tensor& gx, Tensor& gw, Tensor& gb) {
  const char* op = "conv2d_backward";
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  cudnnHandle_t handle = cudnn_handle(dev);
  const cudnn::Scale one(1.0, x.dtype()), zero(0.0, x.dtype());
  const bool empty = gy.numel() == 0 || x.numel() == 0 || weight.numel() == 0;

  if (gx.defined() && gx.numel() > 0) {
    if (empty) {
      fill(gx, Scalar(0.0));
    } else {
      ConvDescs d;
      describe_conv(d, gx, weight, gy, p, op);
      const AlgoChoice c = backward_data_algo(handle, d, gy, weight, gx);
      KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
      Tensor ws = workspace_tensor(c.workspace, x.device());
      KILN_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, one.ptr(), d.w.get(), weight.raw_data_ptr(), d.y.get(),
                                                    gy.raw_data_ptr(), d.conv.get(),
                                                    static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo),
                                                    ws.raw_data_ptr(), c.workspace, zero.ptr(), d.x.get(),
                                                    gx.raw_data_ptr()));
    }
  }
  if (gw.defined() && gw.numel() > 0) {
    if (empty) {
      fill(gw, Scalar(0.0));
    } else {
      ConvDescs d;
      describe_conv(d, x, gw, gy, p, op);
      const AlgoChoice c = backward_filter_algo(handle, d, x, gy, gw);
      KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
      Tensor ws = workspace_tensor(c.workspace, x.device());
      KILN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, one.ptr(), d.x.get(), x.raw_data_ptr(), d.y.get(),
                                                      gy.raw_data_ptr(), d.conv.get(),
                                                      static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo),
                                                      ws.raw_data_ptr(), c.workspace, zero.ptr(), d.w.get(),
                                                      gw.raw_data_ptr()));
    }
  }
  if (gb.defined() && gb.numel() > 0) {
    if (gy.numel() == 0) {
      fill(gb, Scalar(0.0));
    } else {
      cudnn::TensorDesc bdesc, ydesc;
      describe_bias(bdesc, gb, op);
      ydesc.set_4d(gy.dtype(), cudnn::sizes4(gy, op), cudnn::strides4(gy, op), op);
      KILN_CUDNN_CHECK(cudnnConvolutionBackwardBias(handle, one.ptr(), ydesc.get(), gy.raw_data_ptr(), zero.ptr(),
                                                    bdesc.get(), gb.raw_data_ptr()));
    }
  }
}

}  // namespace kiln::cuda
