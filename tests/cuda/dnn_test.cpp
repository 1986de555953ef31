// The CUDA backend's convolution, pooling, batch-norm and optimizer
// primitives against the CPU backend on the same inputs: each case calls
// both backends' Backend methods directly and compares every output. Also:
// the hand-written implicit-GEMM convolution against cuDNN, and a
// channels-last input accepted by cuDNN without a copy. Skipped without a GPU.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor_impl.h"
#include "support/tensor_assert.h"

namespace {

using kiln::Device;
using kiln::DType;
using kiln::Shape;
using kiln::Tensor;
namespace kd = kiln::detail;
namespace kc = kiln::cuda;

#define SKIP_WITHOUT_GPU() \
  if (!kc::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kc::unavailable_reason()

const Device kCpu("cpu");
const Device kGpu("cuda:0");

kd::Backend& cpu() { return kd::backend_for(kCpu); }
kd::Backend& gpu() { return kd::backend_for(kGpu); }

Tensor empty(const Shape& shape, DType dtype, const Device& device) { return kd::make_empty(shape, dtype, device); }
Tensor to_gpu(const Tensor& t) { return t.defined() ? t.to(kGpu) : Tensor(); }
// A GPU result as a CPU tensor (undefined stays undefined).
Tensor back(const Tensor& t) { return t.defined() ? t.cpu() : Tensor(); }

// ---------------------------------------------------------------------------------
// conv2d
// ---------------------------------------------------------------------------------
struct ConvCase {
  std::string name;
  int64_t N, C, H, W, O, kh, kw;
  int64_t stride, pad, dil, groups;
  bool bias;
};
// gtest prints the case name (ctest lines otherwise show the struct's bytes).
void PrintTo(const ConvCase& c, std::ostream* os) { *os << c.name; }

Shape conv_out_shape(const ConvCase& c) {
  const int64_t ho = (c.H + 2 * c.pad - c.dil * (c.kh - 1) - 1) / c.stride + 1;
  const int64_t wo = (c.W + 2 * c.pad - c.dil * (c.kw - 1) - 1) / c.stride + 1;
  return {c.N, c.O, ho, wo};
}
kd::Conv2dParams conv_params(const ConvCase& c) {
  kd::Conv2dParams p;
  p.stride = {c.stride, c.stride};
  p.padding = {c.pad, c.pad};
  p.dilation = {c.dil, c.dil};
  p.groups = c.groups;
  return p;
}

class CudaConv2d : public ::testing::TestWithParam<ConvCase> {};

TEST_P(CudaConv2d, ForwardAndBackwardMatchTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  const ConvCase c = GetParam();
  kiln::manual_seed(11);
  const Tensor x = kiln::randn({c.N, c.C, c.H, c.W});
  const Tensor w = kiln::randn({c.O, c.C / c.groups, c.kh, c.kw});
  const Tensor b = c.bias ? kiln::randn({c.O}) : Tensor();
  const Shape out_shape = conv_out_shape(c);
  const Tensor gy = kiln::randn(out_shape);
  const kd::Conv2dParams p = conv_params(c);

  Tensor out_cpu = empty(out_shape, kiln::kFloat32, kCpu), out_gpu = empty(out_shape, kiln::kFloat32, kGpu);
  cpu().conv2d_forward(x, w, b, p, out_cpu);
  gpu().conv2d_forward(to_gpu(x), to_gpu(w), to_gpu(b), p, out_gpu);
  EXPECT_TENSOR_CLOSE(back(out_gpu), out_cpu, 1e-4, 1e-4);

  Tensor gx_cpu = empty(x.sizes(), kiln::kFloat32, kCpu), gx_gpu = empty(x.sizes(), kiln::kFloat32, kGpu);
  Tensor gw_cpu = empty(w.sizes(), kiln::kFloat32, kCpu), gw_gpu = empty(w.sizes(), kiln::kFloat32, kGpu);
  Tensor gb_cpu = c.bias ? empty({c.O}, kiln::kFloat32, kCpu) : Tensor();
  Tensor gb_gpu = c.bias ? empty({c.O}, kiln::kFloat32, kGpu) : Tensor();
  cpu().conv2d_backward(gy, x, w, p, gx_cpu, gw_cpu, gb_cpu);
  gpu().conv2d_backward(to_gpu(gy), to_gpu(x), to_gpu(w), p, gx_gpu, gw_gpu, gb_gpu);
  EXPECT_TENSOR_CLOSE(back(gx_gpu), gx_cpu, 1e-4, 1e-3);
  EXPECT_TENSOR_CLOSE(back(gw_gpu), gw_cpu, 1e-4, 1e-3);
  if (c.bias) {
    EXPECT_TENSOR_CLOSE(back(gb_gpu), gb_cpu, 1e-4, 1e-3);
  }
}

TEST_P(CudaConv2d, BackwardWritesOnlyTheRequestedGradients) {
  SKIP_WITHOUT_GPU();
  const ConvCase c = GetParam();
  kiln::manual_seed(12);
  const Tensor x = kiln::randn({c.N, c.C, c.H, c.W});
  const Tensor w = kiln::randn({c.O, c.C / c.groups, c.kh, c.kw});
  const Tensor gy = kiln::randn(conv_out_shape(c));
  const kd::Conv2dParams p = conv_params(c);
  Tensor none;
  Tensor gw_cpu = empty(w.sizes(), kiln::kFloat32, kCpu), gw_gpu = empty(w.sizes(), kiln::kFloat32, kGpu);
  cpu().conv2d_backward(gy, x, w, p, none, gw_cpu, none);
  gpu().conv2d_backward(to_gpu(gy), to_gpu(x), to_gpu(w), p, none, gw_gpu, none);
  EXPECT_TENSOR_CLOSE(back(gw_gpu), gw_cpu, 1e-4, 1e-3);
}

const ConvCase kConvCases[] = {
    {"3x3_pad1_bias", 2, 3, 9, 11, 5, 3, 3, 1, 1, 1, 1, true},
    {"3x3_no_bias", 2, 4, 8, 8, 6, 3, 3, 1, 1, 1, 1, false},
    {"stride2_pad2", 3, 5, 13, 10, 4, 5, 5, 2, 2, 1, 1, true},
    {"dilation2", 2, 3, 12, 12, 4, 3, 3, 1, 2, 2, 1, true},
    {"groups2", 2, 4, 7, 9, 6, 3, 3, 1, 1, 1, 2, true},
    {"depthwise", 2, 6, 8, 8, 6, 3, 3, 2, 1, 1, 6, false},
    {"1x1", 4, 16, 5, 5, 8, 1, 1, 1, 0, 1, 1, true},
    {"rect_kernel_stride3", 1, 2, 17, 15, 3, 2, 4, 3, 1, 1, 1, true},
};
INSTANTIATE_TEST_SUITE_P(Cases, CudaConv2d, ::testing::ValuesIn(kConvCases),
                         [](const ::testing::TestParamInfo<ConvCase>& i) { return i.param.name; });

// Restores the process-wide choice even when an assertion fails.
struct ConvImplScope {
  explicit ConvImplScope(kc::Conv2dImpl impl) : previous(kc::conv2d_impl()) { kc::set_conv2d_impl(impl); }
  ~ConvImplScope() { kc::set_conv2d_impl(previous); }
  kc::Conv2dImpl previous;
};

TEST(CudaConv2dKernel, ImplicitGemmMatchesCudnnInF32AndBf16) {
  SKIP_WITHOUT_GPU();
  const ConvCase cases[] = {
      {"resnet_3x3", 4, 64, 14, 14, 64, 3, 3, 1, 1, 1, 1, true},
      {"odd_sizes", 3, 5, 13, 17, 70, 3, 3, 2, 1, 1, 1, true},
      {"dilated_no_bias", 2, 7, 11, 9, 130, 3, 3, 1, 2, 2, 1, false},
      {"1x1", 2, 33, 9, 9, 65, 1, 1, 1, 0, 1, 1, true},
  };
  struct Tol {
    DType dtype;
    double rtol, atol;
  };
  for (const Tol& t : {Tol{kiln::kFloat32, 1e-4, 1e-4}, Tol{kiln::kBFloat16, 2e-2, 5e-2}}) {
    for (const ConvCase& c : cases) {
      SCOPED_TRACE(std::string(kiln::dtype_name(t.dtype)) + " " + c.name);
      kiln::manual_seed(13);
      const Tensor x = kiln::randn({c.N, c.C, c.H, c.W}).to(t.dtype).to(kGpu);
      const Tensor w = kiln::randn({c.O, c.C, c.kh, c.kw}).to(t.dtype).to(kGpu);
      const Tensor b = c.bias ? kiln::randn({c.O}).to(t.dtype).to(kGpu) : Tensor();
      const Shape shape = conv_out_shape(c);
      Tensor by_kiln = empty(shape, t.dtype, kGpu), by_cudnn = empty(shape, t.dtype, kGpu);
      {
        ConvImplScope scope(kc::Conv2dImpl::Kiln);
        gpu().conv2d_forward(x, w, b, conv_params(c), by_kiln);
      }
      {
        ConvImplScope scope(kc::Conv2dImpl::CuDNN);
        gpu().conv2d_forward(x, w, b, conv_params(c), by_cudnn);
      }
      EXPECT_TENSOR_CLOSE(by_kiln.cpu().to(kiln::kFloat32), by_cudnn.cpu().to(kiln::kFloat32), t.rtol, t.atol);
    }
  }
}

TEST(CudaConv2dKernel, ChannelsLastInputGivesTheSameResultAsNchw) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(14);
  const Tensor x = kiln::randn({2, 8, 10, 10}).to(kGpu);
  const Tensor w = kiln::randn({4, 8, 3, 3}).to(kGpu);
  // Same logical [N,C,H,W] tensor stored as NHWC.
  const Tensor x_nhwc = x.permute({0, 2, 3, 1}).contiguous().permute({0, 3, 1, 2});
  ASSERT_FALSE(x_nhwc.is_contiguous());
  kd::Conv2dParams p;
  p.padding = {1, 1};
  ConvImplScope scope(kc::Conv2dImpl::CuDNN);
  Tensor a = empty({2, 4, 10, 10}, kiln::kFloat32, kGpu), b = empty({2, 4, 10, 10}, kiln::kFloat32, kGpu);
  gpu().conv2d_forward(x, w, Tensor(), p, a);
  gpu().conv2d_forward(x_nhwc, w, Tensor(), p, b);
  EXPECT_TENSOR_CLOSE(b.cpu(), a.cpu(), 1e-5, 1e-5);
}

// ---------------------------------------------------------------------------------
// pooling
// ---------------------------------------------------------------------------------
struct PoolCase {
  std::string name;
  int64_t N, C, H, W, k, stride, pad;
  bool ceil_mode, count_include_pad;
};
void PrintTo(const PoolCase& c, std::ostream* os) { *os << c.name; }

int64_t pool_out(int64_t in, int64_t k, int64_t s, int64_t p, bool ceil_mode) {
  const int64_t span = in + 2 * p - k;
  int64_t out = (ceil_mode ? (span + s - 1) / s : span / s) + 1;
  if (ceil_mode && (out - 1) * s >= in + p) --out;  // the last window must start inside the input or left padding
  return out;
}

class CudaPool2d : public ::testing::TestWithParam<PoolCase> {};

TEST_P(CudaPool2d, MaxPoolValuesIndicesAndGradientMatchTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  const PoolCase c = GetParam();
  kd::Pool2dParams p;
  p.kernel = {c.k, c.k};
  p.stride = {c.stride, c.stride};
  p.padding = {c.pad, c.pad};
  p.ceil_mode = c.ceil_mode;
  const Shape out_shape{c.N, c.C, pool_out(c.H, c.k, c.stride, c.pad, c.ceil_mode),
                        pool_out(c.W, c.k, c.stride, c.pad, c.ceil_mode)};
  kiln::manual_seed(21);
  const Tensor x = kiln::randn({c.N, c.C, c.H, c.W});
  Tensor y_cpu = empty(out_shape, kiln::kFloat32, kCpu), y_gpu = empty(out_shape, kiln::kFloat32, kGpu);
  Tensor i_cpu = empty(out_shape, kiln::kInt64, kCpu), i_gpu = empty(out_shape, kiln::kInt64, kGpu);
  cpu().max_pool2d_forward(x, p, y_cpu, i_cpu);
  gpu().max_pool2d_forward(to_gpu(x), p, y_gpu, i_gpu);
  EXPECT_TENSOR_CLOSE(back(y_gpu), y_cpu, 0, 0);
  EXPECT_EQ(back(i_gpu).to_vector<int64_t>(), i_cpu.to_vector<int64_t>());

  const Tensor gy = kiln::randn(out_shape);
  Tensor gx_cpu = empty(x.sizes(), kiln::kFloat32, kCpu), gx_gpu = empty(x.sizes(), kiln::kFloat32, kGpu);
  cpu().max_pool2d_backward(gy, i_cpu, gx_cpu);
  gpu().max_pool2d_backward(to_gpu(gy), i_gpu, gx_gpu);
  EXPECT_TENSOR_CLOSE(back(gx_gpu), gx_cpu, 1e-5, 1e-6);
}

TEST_P(CudaPool2d, AvgPoolForwardAndBackwardMatchTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  const PoolCase c = GetParam();
  kd::Pool2dParams p;
  p.kernel = {c.k, c.k};
  p.stride = {c.stride, c.stride};
  p.padding = {c.pad, c.pad};
  p.ceil_mode = c.ceil_mode;
  p.count_include_pad = c.count_include_pad;
  const Shape out_shape{c.N, c.C, pool_out(c.H, c.k, c.stride, c.pad, c.ceil_mode),
                        pool_out(c.W, c.k, c.stride, c.pad, c.ceil_mode)};
  kiln::manual_seed(22);
  const Tensor x = kiln::randn({c.N, c.C, c.H, c.W});
  Tensor y_cpu = empty(out_shape, kiln::kFloat32, kCpu), y_gpu = empty(out_shape, kiln::kFloat32, kGpu);
  cpu().avg_pool2d_forward(x, p, y_cpu);
  gpu().avg_pool2d_forward(to_gpu(x), p, y_gpu);
  EXPECT_TENSOR_CLOSE(back(y_gpu), y_cpu, 1e-5, 1e-6);

  const Tensor gy = kiln::randn(out_shape);
  Tensor gx_cpu = empty(x.sizes(), kiln::kFloat32, kCpu), gx_gpu = empty(x.sizes(), kiln::kFloat32, kGpu);
  cpu().avg_pool2d_backward(gy, p, gx_cpu);
  gpu().avg_pool2d_backward(to_gpu(gy), p, gx_gpu);
  EXPECT_TENSOR_CLOSE(back(gx_gpu), gx_cpu, 1e-5, 1e-6);
}

const PoolCase kPoolCases[] = {
    {"k2_s2", 2, 3, 8, 8, 2, 2, 0, false, true},
    {"k3_s2_pad1", 2, 3, 9, 7, 3, 2, 1, false, true},
    {"k3_s2_pad1_exclude_pad", 2, 3, 9, 7, 3, 2, 1, false, false},
    {"k3_s2_ceil", 1, 4, 10, 11, 3, 2, 0, true, true},
    {"k3_s2_pad1_ceil_exclude_pad", 1, 4, 10, 11, 3, 2, 1, true, false},
    {"k3_s1_overlapping", 2, 2, 6, 6, 3, 1, 1, false, true},
    {"k2_s3_gaps", 1, 2, 11, 11, 2, 3, 0, true, true},
};
INSTANTIATE_TEST_SUITE_P(Cases, CudaPool2d, ::testing::ValuesIn(kPoolCases),
                         [](const ::testing::TestParamInfo<PoolCase>& i) { return i.param.name; });

// ---------------------------------------------------------------------------------
// batch norm
// ---------------------------------------------------------------------------------
struct BnCase {
  std::string name;
  Shape shape;
  bool affine;
  bool training;
  bool relu = false;  // batch_norm_relu: the GPU composes, the CPU fuses
};
void PrintTo(const BnCase& c, std::ostream* os) { *os << c.name; }

class CudaBatchNorm : public ::testing::TestWithParam<BnCase> {};

TEST_P(CudaBatchNorm, ForwardRunningStatsAndBackwardMatchTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  const BnCase c = GetParam();
  const int64_t C = c.shape[1];
  kiln::manual_seed(31);
  const Tensor x = kiln::randn(c.shape) * 2.0 + 0.5;
  const Tensor w = c.affine ? kiln::randn({C}) : Tensor();
  const Tensor b = c.affine ? kiln::randn({C}) : Tensor();
  Tensor rm_cpu = kiln::randn({C}) * 0.1, rv_cpu = kiln::rand({C}) + 0.5;
  Tensor rm_gpu = to_gpu(rm_cpu), rv_gpu = to_gpu(rv_cpu);
  rm_cpu = rm_cpu.clone();
  rv_cpu = rv_cpu.clone();
  const double momentum = 0.1, eps = 1e-5;

  Tensor y_cpu = empty(c.shape, kiln::kFloat32, kCpu), y_gpu = empty(c.shape, kiln::kFloat32, kGpu);
  Tensor sm_cpu = empty({C}, kiln::kFloat32, kCpu), sm_gpu = empty({C}, kiln::kFloat32, kGpu);
  Tensor si_cpu = empty({C}, kiln::kFloat32, kCpu), si_gpu = empty({C}, kiln::kFloat32, kGpu);
  if (!c.training) {  // eval: the op hands the backends the running statistics (Backend contract)
    sm_cpu = rm_cpu.clone();
    si_cpu = kiln::rsqrt(rv_cpu + eps);
    sm_gpu = to_gpu(sm_cpu);
    si_gpu = to_gpu(si_cpu);
  }
  cpu().batch_norm_forward(x, w, b, rm_cpu, rv_cpu, c.training, momentum, eps, c.relu, y_cpu, sm_cpu, si_cpu);
  gpu().batch_norm_forward(to_gpu(x), to_gpu(w), to_gpu(b), rm_gpu, rv_gpu, c.training, momentum, eps, c.relu, y_gpu,
                           sm_gpu, si_gpu);
  EXPECT_TENSOR_CLOSE(back(y_gpu), y_cpu, 1e-4, 1e-4);
  EXPECT_TENSOR_CLOSE(back(sm_gpu), sm_cpu, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(back(si_gpu), si_cpu, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(back(rm_gpu), rm_cpu, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(back(rv_gpu), rv_cpu, 1e-4, 1e-5);  // unbiased variance in training

  const Tensor gy = kiln::randn(c.shape);
  Tensor gx_cpu = empty(c.shape, kiln::kFloat32, kCpu), gx_gpu = empty(c.shape, kiln::kFloat32, kGpu);
  Tensor gw_cpu = c.affine ? empty({C}, kiln::kFloat32, kCpu) : Tensor();
  Tensor gw_gpu = c.affine ? empty({C}, kiln::kFloat32, kGpu) : Tensor();
  Tensor gb_cpu = c.affine ? empty({C}, kiln::kFloat32, kCpu) : Tensor();
  Tensor gb_gpu = c.affine ? empty({C}, kiln::kFloat32, kGpu) : Tensor();
  cpu().batch_norm_backward(gy, x, w, b, sm_cpu, si_cpu, c.training, eps, c.relu ? y_cpu : Tensor(), gx_cpu, gw_cpu,
                            gb_cpu);
  gpu().batch_norm_backward(to_gpu(gy), to_gpu(x), to_gpu(w), to_gpu(b), sm_gpu, si_gpu, c.training, eps,
                            c.relu ? y_gpu : Tensor(), gx_gpu, gw_gpu, gb_gpu);
  EXPECT_TENSOR_CLOSE(back(gx_gpu), gx_cpu, 1e-4, 1e-4);
  if (c.affine) {
    EXPECT_TENSOR_CLOSE(back(gw_gpu), gw_cpu, 1e-4, 1e-3);
    EXPECT_TENSOR_CLOSE(back(gb_gpu), gb_cpu, 1e-4, 1e-3);
  }
}

const BnCase kBnCases[] = {
    {"nchw_train_affine", {4, 3, 5, 7}, true, true},
    {"nchw_train_no_affine", {4, 3, 5, 7}, false, true},
    {"nchw_eval_affine", {4, 3, 5, 7}, true, false},
    {"nc_train_affine", {16, 10}, true, true},
    {"nc_eval_no_affine", {16, 10}, false, false},
    {"many_channels_train", {8, 64, 4, 4}, true, true},
    {"relu_nchw_train_affine", {4, 3, 5, 7}, true, true, true},
    {"relu_nchw_eval_affine", {4, 3, 5, 7}, true, false, true},
    {"relu_nc_train_no_affine", {16, 10}, false, true, true},
};
INSTANTIATE_TEST_SUITE_P(Cases, CudaBatchNorm, ::testing::ValuesIn(kBnCases),
                         [](const ::testing::TestParamInfo<BnCase>& i) { return i.param.name; });

// f16 and bf16 through cuDNN's legacy batch-norm API (or, where cuDNN
// refuses them, its f32 fallback), through the op and its backward, against
// the CPU on the same values: the output and the gradients in the data's
// precision, the statistics kept in f32, running stats in place, and a
// non-default eps that the backward must see too.
TEST(CudaBatchNormLowPrecision, Float16AndBFloat16MatchTheCpuThroughTheOp) {
  SKIP_WITHOUT_GPU();
  const double eps = 1e-3, momentum = 0.2;
  for (DType dtype : {kiln::kFloat16, kiln::kBFloat16}) {
    for (bool training : {true, false}) {
      SCOPED_TRACE(std::string(kiln::dtype_name(dtype)) + (training ? " training" : " eval"));
      kiln::manual_seed(41);
      const Tensor x = (kiln::randn({4, 6, 5, 3}) * 2.0 + 0.5).to(dtype);
      const Tensor w0 = kiln::randn({6}).to(dtype), b0 = kiln::randn({6}).to(dtype);
      const Tensor rm0 = (kiln::randn({6}) * 0.1).to(dtype), rv0 = (kiln::rand({6}) + 0.5).to(dtype);
      const Tensor gy = kiln::randn({4, 6, 5, 3}).to(dtype);
      struct Run {
        Tensor y, gx, gw, gb, rm, rv;
      };
      auto run = [&](const Device& dev) {
        Run r;
        Tensor xd = x.to(dev).requires_grad_(), w = w0.to(dev).requires_grad_(), b = b0.to(dev).requires_grad_();
        r.rm = rm0.to(dev).clone();
        r.rv = rv0.to(dev).clone();
        r.y = kiln::batch_norm(xd, w, b, r.rm, r.rv, training, momentum, eps);
        r.y.backward(gy.to(dev));
        r.gx = xd.grad();
        r.gw = w.grad();
        r.gb = b.grad();
        return r;
      };
      const Run c = run(kCpu), g = run(kGpu);
      const double tol = dtype == kiln::kFloat16 ? 1e-2 : 5e-2;
      auto f32 = [](const Tensor& t) { return t.cpu().to(kiln::kFloat32); };
      EXPECT_EQ(g.y.dtype(), dtype);
      EXPECT_TENSOR_CLOSE(f32(g.y), f32(c.y), tol, tol);
      EXPECT_TENSOR_CLOSE(f32(g.gx), f32(c.gx), tol, tol);
      EXPECT_TENSOR_CLOSE(f32(g.gw), f32(c.gw), tol, 4 * tol);
      EXPECT_TENSOR_CLOSE(f32(g.gb), f32(c.gb), tol, 4 * tol);
      EXPECT_TENSOR_CLOSE(f32(g.rm), f32(c.rm), tol, tol);
      EXPECT_TENSOR_CLOSE(f32(g.rv), f32(c.rv), tol, tol);
    }
  }
}

// ---------------------------------------------------------------------------------
// optimizers
// ---------------------------------------------------------------------------------
// Sizes that exercise the multi-tensor packing: many small tensors (more than
// one launch's tensor slots), a tensor split over chunks, an empty tensor and
// one larger than one launch's chunk slots (320 x 65536 elements would be
// too slow for a test; 70001 spans two chunks).
const std::vector<Shape> kParamShapes = {{3}, {70001}, {0}, {17, 9}, {1}, {5, 5, 5}};
std::vector<Shape> param_shapes() {
  std::vector<Shape> shapes = kParamShapes;
  for (int i = 0; i < 40; ++i) shapes.push_back({i % 7 + 1, 3});
  return shapes;
}

std::vector<Tensor> random_list(const std::vector<Shape>& shapes, bool positive = false) {
  std::vector<Tensor> out;
  for (const Shape& s : shapes) out.push_back(positive ? kiln::rand(s) : kiln::randn(s));
  return out;
}
std::vector<Tensor> clone_list(const std::vector<Tensor>& l, const Device& d) {
  std::vector<Tensor> out;
  for (const Tensor& t : l) out.push_back(t.to(d).clone());
  return out;
}
void expect_lists_close(const std::vector<Tensor>& gpu_list, const std::vector<Tensor>& cpu_list, const char* what) {
  ASSERT_EQ(gpu_list.size(), cpu_list.size());
  for (size_t i = 0; i < gpu_list.size(); ++i) {
    SCOPED_TRACE(std::string(what) + "[" + std::to_string(i) + "]");
    EXPECT_TENSOR_CLOSE(gpu_list[i].cpu(), cpu_list[i], 1e-5, 1e-6);
  }
}

struct SgdCase {
  std::string name;
  double momentum, dampening, weight_decay;
  bool nesterov;
};
void PrintTo(const SgdCase& c, std::ostream* os) { *os << c.name; }
class CudaSgd : public ::testing::TestWithParam<SgdCase> {};

TEST_P(CudaSgd, ThreeStepsMatchTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  const SgdCase c = GetParam();
  kiln::manual_seed(41);
  const auto shapes = param_shapes();
  const auto p0 = random_list(shapes);
  auto p_cpu = clone_list(p0, kCpu), p_gpu = clone_list(p0, kGpu);
  auto b_cpu = clone_list(random_list(shapes), kCpu), b_gpu = clone_list(b_cpu, kGpu);  // overwritten on step 1
  for (int step = 1; step <= 3; ++step) {
    const auto g = random_list(shapes);
    kd::SgdHyper h;
    h.lr = 0.05, h.momentum = c.momentum, h.dampening = c.dampening, h.weight_decay = c.weight_decay;
    h.nesterov = c.nesterov, h.first_step = step == 1;
    cpu().sgd_update(p_cpu, clone_list(g, kCpu), c.momentum != 0 ? b_cpu : std::vector<Tensor>{}, h);
    gpu().sgd_update(p_gpu, clone_list(g, kGpu), c.momentum != 0 ? b_gpu : std::vector<Tensor>{}, h);
  }
  expect_lists_close(p_gpu, p_cpu, "param");
  if (c.momentum != 0) {
    expect_lists_close(b_gpu, b_cpu, "momentum_buffer");
  }
}

const SgdCase kSgdCases[] = {
    {"plain", 0, 0, 0, false},
    {"weight_decay", 0, 0, 0.01, false},
    {"momentum_dampening", 0.9, 0.1, 0, false},
    {"nesterov_weight_decay", 0.9, 0, 1e-3, true},
};
INSTANTIATE_TEST_SUITE_P(Cases, CudaSgd, ::testing::ValuesIn(kSgdCases),
                         [](const ::testing::TestParamInfo<SgdCase>& i) { return i.param.name; });

struct AdamCase {
  std::string name;
  double weight_decay;
  bool decoupled, amsgrad;
};
void PrintTo(const AdamCase& c, std::ostream* os) { *os << c.name; }
class CudaAdam : public ::testing::TestWithParam<AdamCase> {};

TEST_P(CudaAdam, ThreeStepsMatchTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  const AdamCase c = GetParam();
  kiln::manual_seed(42);
  const auto shapes = param_shapes();
  auto p_cpu = clone_list(random_list(shapes), kCpu), p_gpu = clone_list(p_cpu, kGpu);
  auto m_cpu = clone_list(random_list(shapes), kCpu), m_gpu = clone_list(m_cpu, kGpu);
  auto v_cpu = clone_list(random_list(shapes, true), kCpu), v_gpu = clone_list(v_cpu, kGpu);
  auto vmax_cpu = clone_list(v_cpu, kCpu), vmax_gpu = clone_list(v_cpu, kGpu);
  for (int step = 1; step <= 3; ++step) {
    const auto g = random_list(shapes);
    kd::AdamHyper h;
    h.lr = 1e-2, h.beta1 = 0.9, h.beta2 = 0.99, h.eps = 1e-8, h.weight_decay = c.weight_decay;
    h.decoupled_weight_decay = c.decoupled, h.amsgrad = c.amsgrad, h.step = step;
    cpu().adam_update(p_cpu, clone_list(g, kCpu), m_cpu, v_cpu, c.amsgrad ? vmax_cpu : std::vector<Tensor>{}, h);
    gpu().adam_update(p_gpu, clone_list(g, kGpu), m_gpu, v_gpu, c.amsgrad ? vmax_gpu : std::vector<Tensor>{}, h);
  }
  expect_lists_close(p_gpu, p_cpu, "param");
  expect_lists_close(m_gpu, m_cpu, "exp_avg");
  expect_lists_close(v_gpu, v_cpu, "exp_avg_sq");
  if (c.amsgrad) {
    expect_lists_close(vmax_gpu, vmax_cpu, "max_exp_avg_sq");
  }
}

const AdamCase kAdamCases[] = {
    {"adam", 0, false, false},
    {"adam_l2_weight_decay", 0.01, false, false},
    {"adamw", 0.05, true, false},
    {"amsgrad", 0, false, true},
    {"adamw_amsgrad", 0.05, true, true},
};
INSTANTIATE_TEST_SUITE_P(Cases, CudaAdam, ::testing::ValuesIn(kAdamCases),
                         [](const ::testing::TestParamInfo<AdamCase>& i) { return i.param.name; });

TEST(CudaSgdStrided, TransposedParameterIsUpdatedInPlaceThroughItsStrides) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(44);
  const Tensor base = kiln::randn({6, 9});
  const Tensor grad = kiln::randn({9, 6});
  Tensor base_cpu = base.clone(), base_gpu = base.to(kGpu);
  std::vector<Tensor> p_cpu{base_cpu.t()}, p_gpu{base_gpu.t()};  // non-contiguous views
  std::vector<Tensor> b_cpu{kiln::zeros({9, 6})}, b_gpu{kiln::zeros({9, 6}).to(kGpu)};
  kd::SgdHyper h;
  h.lr = 0.1, h.momentum = 0.9, h.weight_decay = 0.01, h.first_step = true;
  cpu().sgd_update(p_cpu, {grad}, b_cpu, h);
  gpu().sgd_update(p_gpu, {grad.to(kGpu)}, b_gpu, h);
  EXPECT_TENSOR_CLOSE(base_gpu.cpu(), base_cpu, 1e-6, 1e-7);
  EXPECT_GT(base_gpu.cpu().sub(base).abs().max().item<float>(), 0.f) << "the step did not reach the base tensor";
}

TEST(CudaAdamLowPrecision, Bf16ParamsFollowTheF32MathWithinBf16Rounding) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(43);
  const std::vector<Shape> shapes = {{100}, {70001}};
  auto p32 = random_list(shapes), g32 = random_list(shapes);
  std::vector<Tensor> pb, gb, mb, vb, p_ref, m_ref, v_ref;
  for (size_t i = 0; i < shapes.size(); ++i) {
    pb.push_back(p32[i].to(kiln::kBFloat16).to(kGpu));
    gb.push_back(g32[i].to(kiln::kBFloat16).to(kGpu));
    mb.push_back(kiln::zeros(shapes[i], kiln::kBFloat16).to(kGpu));
    vb.push_back(kiln::zeros(shapes[i], kiln::kBFloat16).to(kGpu));
    // The reference starts from the same bf16-rounded values, in f32 on the CPU.
    p_ref.push_back(p32[i].to(kiln::kBFloat16).to(kiln::kFloat32));
    m_ref.push_back(kiln::zeros(shapes[i]));
    v_ref.push_back(kiln::zeros(shapes[i]));
  }
  kd::AdamHyper h;
  h.lr = 1e-2, h.step = 1;
  std::vector<Tensor> g_ref;
  for (const Tensor& g : gb) g_ref.push_back(g.cpu().to(kiln::kFloat32));
  gpu().adam_update(pb, gb, mb, vb, {}, h);
  cpu().adam_update(p_ref, g_ref, m_ref, v_ref, {}, h);
  for (size_t i = 0; i < shapes.size(); ++i) {
    EXPECT_TENSOR_CLOSE(pb[i].cpu().to(kiln::kFloat32), p_ref[i], 1e-2, 1e-2);
  }
}

}  // namespace
