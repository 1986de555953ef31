// CudaBackend::conv2d_forward / conv2d_backward through cuDNN's convolution
// API (forward, backward data, backward filter, bias), or, for the forward,
// the hand-written implicit-GEMM kernel: per shape when it measured faster
// than cuDNN's best (kiln::cuda::Conv2dImpl::Auto, the default), or always
// where it applies when the user chose Conv2dImpl::Kiln.
//
// Algorithms: the first call for a (direction, device, dtype, sizes, strides,
// params, math mode, buffer alignment) key runs cudnnFind*AlgorithmEx (one template,
// find_algo, for the three directions) on the call's own buffers
// (the outputs are overwritten anyway) with a workspace from the caching
// allocator, and caches the fastest algorithm that fits; later calls reuse it.
// Math: f16/bf16 use tensor cores with f32 accumulation; f32 uses FMA-only
// kernels unless kiln::cuda::allow_tf32() (cuDNN's DEFAULT math would let f32
// convolutions run in TF32 on Ampere and newer); f64 runs as it is.
// Layout: descriptors carry the tensors' real strides, so a channels-last
// (NHWC) x/out and an NHWC weight are accepted without a copy.
#include <algorithm>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>

#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "cuda/context.h"
#include "cuda/cuda_backend.h"
#include "cuda/cudnn_util.h"
#include "cuda/workspace.h"
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

// The largest power of two up to 16 that divides p. cuDNN's fastest
// kernels need aligned buffers, so an algorithm found for aligned buffers
// may fail or slow down on a misaligned view (an offset into a storage);
// the alignment is part of the key, as in PyTorch.
int alignment_of(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  int align = 1;
  while (align < 16 && a % (2 * align) == 0) align *= 2;
  return align;
}

void append_tensor_key(std::string& key, const Tensor& t) {
  for (int64_t d = 0; d < t.dim(); ++d) key += std::to_string(t.size(d)) + "," + std::to_string(t.stride(d)) + ";";
  key += "@" + std::to_string(alignment_of(t.raw_data_ptr())) + "|";
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
  float ms = 0;  // as cudnnFind measured it
};

std::mutex g_algo_mutex;
std::unordered_map<std::string, AlgoChoice>& algo_cache() {
  static auto* cache = new std::unordered_map<std::string, AlgoChoice>();  // outlives static destructors
  return *cache;
}

// The most scratch memory cudnnFind may use while trying algorithms.
constexpr size_t kMaxFindWorkspace = size_t{1} << 30;

// A workspace for cudnnFind: the largest any algorithm asks for (capped);
// if that much cannot be had, none (algorithms that need none still run).
Workspace find_workspace(size_t wanted, Device device) {
  try {
    return Workspace(device.index(), std::min(wanted, kMaxFindWorkspace));
  } catch (const CudaError&) {
    return Workspace();
  }
}

// Picks the first (fastest) successful result that fits the workspace it was found with.
template <class Perf>
AlgoChoice pick(const Perf* perf, int count, size_t workspace_limit, const char* op) {
  for (int i = 0; i < count; ++i) {
    if (perf[i].status == CUDNN_STATUS_SUCCESS && perf[i].memory <= workspace_limit)
      return {static_cast<int>(perf[i].algo), perf[i].mathType, perf[i].memory, perf[i].time};
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

// The device pointers of one convolution call: x, w, y as cuDNN names them
// (y = out or gy). Which are read and which written depends on the direction.
struct ConvBuffers {
  const void* x;
  const void* w;
  const void* y;
};

// What differs between the three cuDNN algorithm searches; everything else
// is find_algo below.
struct ForwardSearch {
  using Perf = cudnnConvolutionFwdAlgoPerf_t;
  static constexpr ConvDir kDir = ConvDir::Forward;
  static constexpr int kCount = CUDNN_CONVOLUTION_FWD_ALGO_COUNT;
  static constexpr const char* kOp = "conv2d";
  static cudnnStatus_t workspace_size(cudnnHandle_t h, const ConvDescs& d, int algo, size_t* bytes) {
    return cudnnGetConvolutionForwardWorkspaceSize(h, d.x.get(), d.w.get(), d.conv.get(), d.y.get(),
                                                   static_cast<cudnnConvolutionFwdAlgo_t>(algo), bytes);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const ConvDescs& d, const ConvBuffers& b, int* count, Perf* perf,
                            void* ws, size_t bytes) {
    return cudnnFindConvolutionForwardAlgorithmEx(h, d.x.get(), b.x, d.w.get(), b.w, d.conv.get(), d.y.get(),
                                                  const_cast<void*>(b.y), kCount, count, perf, ws, bytes);
  }
};
struct BackwardDataSearch {
  using Perf = cudnnConvolutionBwdDataAlgoPerf_t;
  static constexpr ConvDir kDir = ConvDir::BackwardData;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_DATA_ALGO_COUNT;
  static constexpr const char* kOp = "conv2d_backward (input)";
  static cudnnStatus_t workspace_size(cudnnHandle_t h, const ConvDescs& d, int algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardDataWorkspaceSize(h, d.w.get(), d.y.get(), d.conv.get(), d.x.get(),
                                                        static_cast<cudnnConvolutionBwdDataAlgo_t>(algo), bytes);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const ConvDescs& d, const ConvBuffers& b, int* count, Perf* perf,
                            void* ws, size_t bytes) {
    return cudnnFindConvolutionBackwardDataAlgorithmEx(h, d.w.get(), b.w, d.y.get(), b.y, d.conv.get(), d.x.get(),
                                                       const_cast<void*>(b.x), kCount, count, perf, ws, bytes);
  }
};
struct BackwardFilterSearch {
  using Perf = cudnnConvolutionBwdFilterAlgoPerf_t;
  static constexpr ConvDir kDir = ConvDir::BackwardFilter;
  static constexpr int kCount = CUDNN_CONVOLUTION_BWD_FILTER_ALGO_COUNT;
  static constexpr const char* kOp = "conv2d_backward (weight)";
  static cudnnStatus_t workspace_size(cudnnHandle_t h, const ConvDescs& d, int algo, size_t* bytes) {
    return cudnnGetConvolutionBackwardFilterWorkspaceSize(h, d.x.get(), d.y.get(), d.conv.get(), d.w.get(),
                                                          static_cast<cudnnConvolutionBwdFilterAlgo_t>(algo), bytes);
  }
  static cudnnStatus_t find(cudnnHandle_t h, const ConvDescs& d, const ConvBuffers& b, int* count, Perf* perf,
                            void* ws, size_t bytes) {
    return cudnnFindConvolutionBackwardFilterAlgorithmEx(h, d.x.get(), b.x, d.y.get(), b.y, d.conv.get(), d.w.get(),
                                                         const_cast<void*>(b.w), kCount, count, perf, ws, bytes);
  }
};

// The cached algorithm for this convolution, or, on the first call for its
// key, the fastest one cudnnFind*AlgorithmEx measures on the call's own
// buffers (the output is overwritten anyway) that fits its workspace.
template <class Search>
AlgoChoice find_algo(cudnnHandle_t handle, const ConvDescs& d, const ConvBuffers& b, Device device) {
  AlgoChoice c = lookup(Search::kDir, d.key);
  if (c.algo >= 0) return c;
  size_t wanted = 0;
  for (int a = 0; a < Search::kCount; ++a) {
    size_t sz = 0;
    if (Search::workspace_size(handle, d, a, &sz) == CUDNN_STATUS_SUCCESS) wanted = std::max(wanted, sz);
  }
  const Workspace ws = find_workspace(wanted, device);
  typename Search::Perf perf[Search::kCount];
  int count = 0;
  KILN_CUDNN_CHECK(Search::find(handle, d, b, &count, perf, ws.data(), ws.size()));
  c = pick(perf, count, ws.size(), Search::kOp);
  remember(Search::kDir, d.key, c);
  return c;
}

// A [1, O, 1, 1] descriptor for the bias (or its gradient).
void describe_bias(cudnn::TensorDesc& desc, const Tensor& bias, const char* op) {
  KILN_CHECK(bias.dim() == 1 && bias.is_contiguous(), ShapeError, op, ": bias must be a contiguous 1-D tensor, got ",
             detail::describe(bias));
  desc.set_channel(cudnn::data_type(bias.dtype(), op), bias.size(0), op);
}

bool kiln_kernel_applies(const Tensor& x, const Tensor& w, const Tensor& out, const detail::Conv2dParams& p) {
  return p.groups == 1 && kernels::conv2d_fwd_supports(x.dtype()) && x.is_contiguous() &&
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
  kernels::launch_conv2d_fwd(x.raw_data_ptr(), w.raw_data_ptr(), bias.defined() ? bias.raw_data_ptr() : nullptr,
                             out.raw_data_ptr(), x.dtype(), s, stream);
}

// Conv2dImpl::Auto: whether kiln's kernel beat cuDNN's fastest algorithm on
// this convolution (key), timed once per key on the call's own buffers.
std::mutex g_impl_mutex;
std::unordered_map<std::string, bool>& kiln_faster_cache() {
  static auto* cache = new std::unordered_map<std::string, bool>();  // outlives static destructors
  return *cache;
}

// Mean milliseconds of `runs` back-to-back launches after one warm-up.
float time_on_stream(cudaStream_t stream, const std::function<void()>& launch, int runs = 3) {
  cudaEvent_t start = nullptr, stop = nullptr;
  KILN_CUDA_CHECK(cudaEventCreate(&start));
  KILN_CUDA_CHECK(cudaEventCreate(&stop));
  float ms = 0;
  try {
    launch();
    KILN_CUDA_CHECK(cudaEventRecord(start, stream));
    for (int i = 0; i < runs; ++i) launch();
    KILN_CUDA_CHECK(cudaEventRecord(stop, stream));
    KILN_CUDA_CHECK(cudaEventSynchronize(stop));
    KILN_CUDA_CHECK(cudaEventElapsedTime(&ms, start, stop));
  } catch (...) {
    cudaEventDestroy(start);
    cudaEventDestroy(stop);
    throw;
  }
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  return ms / static_cast<float>(runs);
}

bool kiln_faster(const std::string& key, float cudnn_ms, cudaStream_t stream, const std::function<void()>& run_kiln) {
  {
    std::lock_guard<std::mutex> lock(g_impl_mutex);
    auto it = kiln_faster_cache().find(key);
    if (it != kiln_faster_cache().end()) return it->second;
  }
  const bool faster = time_on_stream(stream, run_kiln) < cudnn_ms;
  std::lock_guard<std::mutex> lock(g_impl_mutex);
  kiln_faster_cache()[key] = faster;
  return faster;
}

}  // namespace

void CudaBackend::conv2d_forward(const Tensor& x, const Tensor& weight, const Tensor& bias,
                                 const detail::Conv2dParams& p, Tensor& out) {
  const char* op = "conv2d";
  if (out.numel() == 0) return;
  const int dev = x.device().index();
  DeviceGuard guard(dev);
  const cudaStream_t stream = current_stream(dev);
  const Conv2dImpl impl = conv2d_impl();
  const bool kiln_applies = impl != Conv2dImpl::CuDNN && kiln_kernel_applies(x, weight, out, p);
  auto run_kiln = [&] { run_kiln_conv(x, weight, bias, p, out, stream); };
  if (kiln_applies && impl == Conv2dImpl::Kiln) {
    run_kiln();
    return;
  }
  cudnnHandle_t handle = cudnn_handle(dev);
  const cudnn::Scale one(1.0, x.dtype()), zero(0.0, x.dtype());
  if (x.numel() == 0 || weight.numel() == 0) {  // an empty sum: out = bias (or 0); cuDNN rejects zero sizes
    fill(out, Scalar(0.0));
  } else {
    ConvDescs d;
    describe_conv(d, x, weight, out, p, op);
    const AlgoChoice c =
        find_algo<ForwardSearch>(handle, d, {x.raw_data_ptr(), weight.raw_data_ptr(), out.raw_data_ptr()}, x.device());
    if (kiln_applies && kiln_faster(d.key, c.ms, stream, run_kiln)) {  // Conv2dImpl::Auto
      run_kiln();
      return;
    }
    KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
    const Workspace ws(dev, c.workspace);
    KILN_CUDNN_CHECK(cudnnConvolutionForward(handle, one.ptr(), d.x.get(), x.raw_data_ptr(), d.w.get(),
                                             weight.raw_data_ptr(), d.conv.get(),
                                             static_cast<cudnnConvolutionFwdAlgo_t>(c.algo), ws.data(),
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
      const AlgoChoice c = find_algo<BackwardDataSearch>(
          handle, d, {gx.raw_data_ptr(), weight.raw_data_ptr(), gy.raw_data_ptr()}, x.device());
      KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
      const Workspace ws(dev, c.workspace);
      KILN_CUDNN_CHECK(cudnnConvolutionBackwardData(handle, one.ptr(), d.w.get(), weight.raw_data_ptr(), d.y.get(),
                                                    gy.raw_data_ptr(), d.conv.get(),
                                                    static_cast<cudnnConvolutionBwdDataAlgo_t>(c.algo), ws.data(),
                                                    c.workspace, zero.ptr(), d.x.get(), gx.raw_data_ptr()));
    }
  }
  if (gw.defined() && gw.numel() > 0) {
    if (empty) {
      fill(gw, Scalar(0.0));
    } else {
      ConvDescs d;
      describe_conv(d, x, gw, gy, p, op);
      const AlgoChoice c = find_algo<BackwardFilterSearch>(
          handle, d, {x.raw_data_ptr(), gw.raw_data_ptr(), gy.raw_data_ptr()}, x.device());
      KILN_CUDNN_CHECK(cudnnSetConvolutionMathType(d.conv.get(), c.math));
      const Workspace ws(dev, c.workspace);
      KILN_CUDNN_CHECK(cudnnConvolutionBackwardFilter(handle, one.ptr(), d.x.get(), x.raw_data_ptr(), d.y.get(),
                                                      gy.raw_data_ptr(), d.conv.get(),
                                                      static_cast<cudnnConvolutionBwdFilterAlgo_t>(c.algo), ws.data(),
                                                      c.workspace, zero.ptr(), d.w.get(), gw.raw_data_ptr()));
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
