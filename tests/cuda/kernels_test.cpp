// The hand-written CUDA kernels (kernels/*.cu through CudaBackend) against
// the CPU backend on the same inputs: every primitive, every dtype it
// supports, contiguous / non-contiguous / broadcast inputs, sizes 0 and 1.
// Each GPU output is poisoned (NaN, or a sentinel for integers) before the
// call, so an element the kernel forgets to write fails the comparison.
// Philox: rand/randn/randint on cuda:0 give the CPU's numbers for a seed.
// Skipped without a GPU.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor_impl.h"
#include "support/tensor_assert.h"

namespace {

using kiln::DType;
using kiln::Device;
using kiln::Scalar;
using kiln::Shape;
using kiln::Tensor;
using kiln::detail::Backend;
namespace kc = kiln::cuda;
namespace kd = kiln::detail;

#define SKIP_WITHOUT_GPU() \
  if (!kc::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kc::unavailable_reason()

const Device kCpu("cpu");
const Device kGpu("cuda:0");

Backend& gpu() { return kd::backend_for(kGpu); }
Backend& cpu() { return kd::cpu_backend(); }

const DType kAllDtypes[] = {kiln::kBool,    kiln::kUInt8,    kiln::kInt32,   kiln::kInt64,
                            kiln::kFloat16, kiln::kBFloat16, kiln::kFloat32, kiln::kFloat64};
const DType kFloatDtypes[] = {kiln::kFloat16, kiln::kBFloat16, kiln::kFloat32, kiln::kFloat64};

struct Tol {
  double rtol, atol;
};
Tol tol_for(DType t) {
  switch (t) {
    case DType::Float64: return {1e-12, 1e-12};
    case DType::Float32: return {1e-5, 1e-6};
    case DType::Float16: return {2e-3, 1e-3};
    case DType::BFloat16: return {1e-2, 1e-2};
    default: return {0, 0};
  }
}

// An uninitialised tensor filled with a value no kernel should produce.
Tensor poisoned(const Shape& shape, DType dtype, const Device& device) {
  Tensor t = kd::make_empty(shape, dtype, device);
  if (t.numel() == 0) return t;
  const Scalar poison = kiln::is_floating(dtype) ? Scalar(NAN) : (dtype == kiln::kBool ? Scalar(true) : Scalar(77));
  kd::backend_for(device).fill(t, poison);
  return t;
}

// Random CPU values of `dtype`: normal for floats, a small range for
// integers (so comparisons see ties), 0/1 for bool.
Tensor random_cpu(const Shape& shape, DType dtype) {
  if (kiln::is_floating(dtype)) return kiln::randn(shape, kiln::kFloat64).to(dtype);
  if (dtype == kiln::kBool) return kiln::randint(0, 2, shape, kiln::kInt64).to(dtype);
  if (dtype == kiln::kUInt8) return kiln::randint(0, 6, shape, kiln::kInt64).to(dtype);
  return kiln::randint(-5, 6, shape, kiln::kInt64).to(dtype);
}

// The same values on both devices, in one of several layouts.
enum class Layout { Contiguous, Transposed, Strided, Broadcast };
const char* layout_name(Layout l) {
  switch (l) {
    case Layout::Contiguous: return "contiguous";
    case Layout::Transposed: return "transposed";
    case Layout::Strided: return "strided";
    case Layout::Broadcast: return "broadcast";
  }
  return "?";
}
struct Pair {
  Tensor c, g;  // cpu, gpu views of the same values
};
Pair make_input(const Tensor& base_cpu, const Shape& shape, Layout layout) {
  const Tensor bg = base_cpu.to(kGpu);
  switch (layout) {
    case Layout::Contiguous: return {base_cpu, bg};
    case Layout::Transposed: return {base_cpu.transpose(0, 1), bg.transpose(0, 1)};
    case Layout::Strided: {
      const int64_t last = static_cast<int64_t>(shape.size()) - 1;
      return {base_cpu.slice(last, 0, shape[last] * 2, 2), bg.slice(last, 0, shape[last] * 2, 2)};
    }
    case Layout::Broadcast: return {base_cpu.expand(shape), bg.expand(shape)};
  }
  return {};
}
// Base tensor whose `layout` view has `shape`.
Shape base_shape(const Shape& shape, Layout layout) {
  Shape s = shape;
  if (layout == Layout::Transposed) std::swap(s[0], s[1]);
  if (layout == Layout::Strided) s.back() *= 2;
  if (layout == Layout::Broadcast) s[0] = 1;
  return s;
}
Pair random_input(const Shape& shape, DType dtype, Layout layout, Tensor (*transform)(const Tensor&) = nullptr) {
  Tensor base = random_cpu(base_shape(shape, layout), dtype);
  if (transform) base = transform(base).to(dtype).contiguous();
  return make_input(base, shape, layout);
}

const Layout kLayouts[] = {Layout::Contiguous, Layout::Transposed, Layout::Strided, Layout::Broadcast};
// Shapes every elementwise case runs on (2-D so every layout applies).
const Shape kShapes[] = {{0, 5}, {1, 1}, {7, 33}, {65, 1031}};

void expect_same(const Tensor& got_gpu, const Tensor& want_cpu, DType dtype) {
  const Tol t = tol_for(dtype);
  EXPECT_TENSOR_CLOSE(got_gpu.cpu().to(kiln::kFloat64), want_cpu.to(kiln::kFloat64), t.rtol, t.atol);
}

std::string trace(const char* what, DType dtype, const Shape& shape, Layout layout) {
  return kiln::detail::str_cat(what, "/", kiln::dtype_name(dtype), "/", kiln::shape_str(shape), "/",
                               layout_name(layout));
}

// --- copy, fill, arange ----------------------------------------------------------------

TEST(CudaKernels, CopyCastsEveryDtypePairLikeTheCpuInEveryLayout) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(10);
  // Non-negative values below 100 convert to every dtype without overflow.
  auto in_range = [](const Tensor& x) { return kiln::abs(x.to(kiln::kFloat64)) * 30.0; };
  for (DType src : kAllDtypes)
    for (DType dst : kAllDtypes)
      for (const Shape& shape : kShapes)
        for (Layout layout : kLayouts) {
          SCOPED_TRACE(trace("copy", src, shape, layout) + " -> " + kiln::dtype_name(dst));
          Pair x = random_input(shape, src, layout, src == kiln::kBool ? nullptr : +in_range);
          Tensor want = poisoned(shape, dst, kCpu), got = poisoned(shape, dst, kGpu);
          cpu().copy(x.c, want);
          gpu().copy(x.g, got);
          EXPECT_TENSOR_CLOSE(got.cpu().to(kiln::kFloat64), want.to(kiln::kFloat64), 0.0, 0.0);
        }
}

TEST(CudaKernels, CopyIntoANonContiguousDestinationWritesOnlyItsElements) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(11);
  const Tensor src = kiln::randn({9, 13});
  Tensor big_c = kiln::zeros({13, 9}), big_g = big_c.to(kGpu);
  Tensor dst_c = big_c.t(), dst_g = big_g.t();
  cpu().copy(src, dst_c);
  gpu().copy(src.to(kGpu), dst_g);
  EXPECT_TENSOR_CLOSE(big_g.cpu(), big_c, 0.0, 0.0);
}

TEST(CudaKernels, FillWritesEveryDtypeAndStridedViews) {
  SKIP_WITHOUT_GPU();
  for (DType dtype : kAllDtypes) {
    SCOPED_TRACE(kiln::dtype_name(dtype));
    for (const Shape& shape : kShapes) {
      Tensor got = poisoned(shape, dtype, kGpu), want = poisoned(shape, dtype, kCpu);
      gpu().fill(got, 3.25);
      cpu().fill(want, 3.25);
      expect_same(got, want, dtype);
    }
    // The diagonal of a 5x5 matrix: strided, the rest must stay zero.
    Tensor m_g = kiln::zeros({5, 5}, kiln::dtype(dtype).device(kGpu)), m_c = kiln::zeros({5, 5}, dtype);
    Tensor diag_g = m_g.as_strided({5}, {6}, 0), diag_c = m_c.as_strided({5}, {6}, 0);
    gpu().fill(diag_g, 1);
    cpu().fill(diag_c, 1);
    expect_same(m_g, m_c, dtype);
  }
}

TEST(CudaKernels, ArangeMatchesTheCpuForEveryNumericDtype) {
  SKIP_WITHOUT_GPU();
  for (DType dtype : kAllDtypes) {
    if (dtype == kiln::kBool) continue;
    SCOPED_TRACE(kiln::dtype_name(dtype));
    for (int64_t n : {0, 1, 1000}) {
      Tensor got = poisoned({n}, dtype, kGpu), want = poisoned({n}, dtype, kCpu);
      const double step = kiln::is_floating(dtype) ? 0.37 : 1.0;
      gpu().arange(got, -3.0, step);
      cpu().arange(want, -3.0, step);
      expect_same(got, want, dtype);
    }
  }
}

// --- elementwise ---------------------------------------------------------------------

struct UnaryCase {
  kd::UnaryOp op;
  const char* name;
  bool floating_only;
  Tensor (*domain)(const Tensor&);  // maps random normals into the op's domain, or null
  kd::UnaryParams params;
};
Tensor positive(const Tensor& x) { return kiln::abs(x.to(kiln::kFloat64)) + 0.1; }
Tensor small_nonneg(const Tensor& x) { return kiln::abs(x.to(kiln::kFloat64)); }

const UnaryCase kUnaryCases[] = {
    {kd::UnaryOp::Neg, "neg", false, nullptr, {}},
    {kd::UnaryOp::Abs, "abs", false, nullptr, {}},
    {kd::UnaryOp::Sign, "sign", false, nullptr, {}},
    {kd::UnaryOp::Relu, "relu", false, nullptr, {}},
    {kd::UnaryOp::Clamp, "clamp", false, nullptr, {-0.5, 2.0}},
    {kd::UnaryOp::PowScalar, "pow2", false, nullptr, {2.0, 0}},
    {kd::UnaryOp::PowScalar, "pow3", false, small_nonneg, {3.0, 0}},
    {kd::UnaryOp::Exp, "exp", true, nullptr, {}},
    {kd::UnaryOp::Log, "log", true, positive, {}},
    {kd::UnaryOp::Sqrt, "sqrt", true, positive, {}},
    {kd::UnaryOp::Rsqrt, "rsqrt", true, positive, {}},
    {kd::UnaryOp::Reciprocal, "reciprocal", true, positive, {}},
    {kd::UnaryOp::Tanh, "tanh", true, nullptr, {}},
    {kd::UnaryOp::Sigmoid, "sigmoid", true, nullptr, {}},
    {kd::UnaryOp::GeluErf, "gelu", true, nullptr, {}},
    {kd::UnaryOp::GeluTanh, "gelu_tanh", true, nullptr, {}},
    {kd::UnaryOp::Silu, "silu", true, nullptr, {}},
};

TEST(CudaKernels, UnaryOpsMatchTheCpuForEveryDtypeLayoutAndSize) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(20);
  for (const UnaryCase& c : kUnaryCases)
    for (DType dtype : kAllDtypes) {
      if (dtype == kiln::kBool) continue;  // arithmetic on bool is refused by the op layer
      if (c.floating_only && !kiln::is_floating(dtype)) continue;
      for (const Shape& shape : kShapes)
        for (Layout layout : kLayouts) {
          SCOPED_TRACE(trace(c.name, dtype, shape, layout));
          Pair x = random_input(shape, dtype, layout, c.domain);
          Tensor got = poisoned(shape, dtype, kGpu), want = poisoned(shape, dtype, kCpu);
          gpu().unary(c.op, x.g, got, c.params);
          cpu().unary(c.op, x.c, want, c.params);
          expect_same(got, want, dtype);
        }
    }
}

TEST(CudaKernels, LogicalNotFlipsBools) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(21);
  for (Layout layout : kLayouts) {
    Pair x = random_input({7, 33}, kiln::kBool, layout);
    Tensor got = poisoned({7, 33}, kiln::kBool, kGpu), want = poisoned({7, 33}, kiln::kBool, kCpu);
    gpu().unary(kd::UnaryOp::LogicalNot, x.g, got, {});
    cpu().unary(kd::UnaryOp::LogicalNot, x.c, want, {});
    expect_same(got, want, kiln::kBool);
  }
}

struct BinaryCase {
  kd::BinaryOp op;
  const char* name;
  bool floating_only;
  bool bool_out;
  Tensor (*b_domain)(const Tensor&);
};
Tensor exponent(const Tensor& x) { return kiln::clamp(kiln::abs(x.to(kiln::kFloat64)), 0.0, 3.0); }
Tensor away_from_zero(const Tensor& x) { return kiln::abs(x.to(kiln::kFloat64)) + 0.5; }

const BinaryCase kBinaryCases[] = {
    {kd::BinaryOp::Add, "add", false, false, nullptr},
    {kd::BinaryOp::Sub, "sub", false, false, nullptr},
    {kd::BinaryOp::Mul, "mul", false, false, nullptr},
    {kd::BinaryOp::Div, "div", true, false, away_from_zero},
    {kd::BinaryOp::Pow, "pow", false, false, exponent},
    {kd::BinaryOp::Maximum, "maximum", false, false, nullptr},
    {kd::BinaryOp::Minimum, "minimum", false, false, nullptr},
    {kd::BinaryOp::Eq, "eq", false, true, nullptr},
    {kd::BinaryOp::Ne, "ne", false, true, nullptr},
    {kd::BinaryOp::Lt, "lt", false, true, nullptr},
    {kd::BinaryOp::Le, "le", false, true, nullptr},
    {kd::BinaryOp::Gt, "gt", false, true, nullptr},
    {kd::BinaryOp::Ge, "ge", false, true, nullptr},
    {kd::BinaryOp::ReluBackward, "relu_backward", true, false, nullptr},
    {kd::BinaryOp::SigmoidBackward, "sigmoid_backward", true, false, nullptr},
    {kd::BinaryOp::TanhBackward, "tanh_backward", true, false, nullptr},
    {kd::BinaryOp::GeluErfBackward, "gelu_backward", true, false, nullptr},
    {kd::BinaryOp::GeluTanhBackward, "gelu_tanh_backward", true, false, nullptr},
    {kd::BinaryOp::SiluBackward, "silu_backward", true, false, nullptr},
};

TEST(CudaKernels, BinaryOpsMatchTheCpuForEveryDtypeLayoutAndSize) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(30);
  for (const BinaryCase& c : kBinaryCases)
    for (DType dtype : kAllDtypes) {
      if (dtype == kiln::kBool) continue;
      if (c.floating_only && !kiln::is_floating(dtype)) continue;
      for (const Shape& shape : kShapes)
        for (Layout layout : kLayouts) {
          SCOPED_TRACE(trace(c.name, dtype, shape, layout));
          // a in the layout under test, b contiguous (or broadcast along rows).
          Pair a = random_input(shape, dtype, layout, c.op == kd::BinaryOp::Pow ? small_nonneg : nullptr);
          Pair b = random_input(shape, dtype, layout == Layout::Broadcast ? Layout::Broadcast : Layout::Contiguous,
                                c.b_domain);
          const DType out_dtype = c.bool_out ? kiln::kBool : dtype;
          Tensor got = poisoned(shape, out_dtype, kGpu), want = poisoned(shape, out_dtype, kCpu);
          gpu().binary(c.op, a.g, b.g, got);
          cpu().binary(c.op, a.c, b.c, want);
          expect_same(got, want, out_dtype);
        }
    }
}

TEST(CudaKernels, LogicalAndOrAndWhereMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(31);
  const Shape shape{65, 1031};
  for (Layout layout : kLayouts) {
    Pair a = random_input(shape, kiln::kBool, layout), b = random_input(shape, kiln::kBool, Layout::Contiguous);
    for (kd::BinaryOp op : {kd::BinaryOp::LogicalAnd, kd::BinaryOp::LogicalOr}) {
      Tensor got = poisoned(shape, kiln::kBool, kGpu), want = poisoned(shape, kiln::kBool, kCpu);
      gpu().binary(op, a.g, b.g, got);
      cpu().binary(op, a.c, b.c, want);
      expect_same(got, want, kiln::kBool);
    }
    for (DType dtype : kAllDtypes) {
      SCOPED_TRACE(trace("where", dtype, shape, layout));
      Pair x = random_input(shape, dtype, layout), y = random_input(shape, dtype, Layout::Contiguous);
      Tensor got = poisoned(shape, dtype, kGpu), want = poisoned(shape, dtype, kCpu);
      gpu().where(a.g, x.g, y.g, got);
      cpu().where(a.c, x.c, y.c, want);
      expect_same(got, want, dtype);
    }
  }
}

TEST(CudaKernels, UnaryWritesInPlaceOverItsInput) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(32);
  const Tensor x = kiln::randn({1000});
  Tensor g = x.to(kGpu);
  gpu().unary(kd::UnaryOp::Tanh, g, g, {});
  EXPECT_TENSOR_CLOSE(g.cpu(), kiln::tanh(x), 1e-5, 1e-6);
}

// --- reductions ------------------------------------------------------------------------

struct ReduceShape {
  Shape shape;
  Shape dims;
};
// Row sums (block per row), short rows (sub-warp groups), column sums (thread per
// output), few long rows (split over blocks, two passes), all dims, empty.
const ReduceShape kReduceShapes[] = {
    {{1, 1}, {1}},        {{7, 33}, {1}},        {{7, 33}, {0}},          {{7, 33}, {0, 1}},
    {{64, 5000}, {1}},    {{5000, 64}, {0}},     {{3, 200003}, {1}},      {{200003, 3}, {0}},
    {{6, 7, 8}, {0, 2}},  {{6, 7, 8}, {1}},      {{0, 5}, {1}},           {{4, 0}, {1}},
};

TEST(CudaKernels, ReduceSumMaxMinMatchTheCpuOverAnyDims) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(40);
  for (DType dtype : kAllDtypes)
    for (const ReduceShape& rs : kReduceShapes)
      for (kd::ReduceOp op : {kd::ReduceOp::Sum, kd::ReduceOp::Max, kd::ReduceOp::Min})
        for (Layout layout : {Layout::Contiguous, Layout::Transposed}) {
          if (op != kd::ReduceOp::Sum && (rs.shape[0] == 0 || rs.shape.back() == 0)) continue;  // op refuses
          SCOPED_TRACE(trace(op == kd::ReduceOp::Sum ? "sum" : (op == kd::ReduceOp::Max ? "max" : "min"), dtype,
                             rs.shape, layout));
          Pair x = random_input(rs.shape, dtype, layout);
          Shape out_shape = rs.shape;
          for (int64_t d : rs.dims) out_shape[d] = 1;
          Tensor got = poisoned(out_shape, dtype, kGpu), want = poisoned(out_shape, dtype, kCpu);
          gpu().reduce(op, x.g, rs.dims, got);
          cpu().reduce(op, x.c, rs.dims, want);
          Tol t = tol_for(dtype);
          if (op == kd::ReduceOp::Sum && dtype == kiln::kFloat32) t.atol = 1e-3;  // f32 tree vs f64 serial sum
          EXPECT_TENSOR_CLOSE(got.cpu().to(kiln::kFloat64), want.to(kiln::kFloat64), t.rtol, t.atol);
        }
}

TEST(CudaKernels, ReduceMaxPropagatesNan) {
  SKIP_WITHOUT_GPU();
  Tensor x = kiln::randn({4, 3000});
  x.select(0, 2).select(0, 1234).fill_(NAN);
  Tensor got = poisoned({4, 1}, kiln::kFloat32, kGpu), want = poisoned({4, 1}, kiln::kFloat32, kCpu);
  gpu().reduce(kd::ReduceOp::Max, x.to(kGpu), {1}, got);
  cpu().reduce(kd::ReduceOp::Max, x, {1}, want);
  EXPECT_TRUE(std::isnan(got.cpu().at<float>({2, 0})));
  EXPECT_TENSOR_CLOSE(got.cpu(), want, 0.0, 0.0);
}

TEST(CudaKernels, ArgMaxArgMinPickTheFirstExtremeLikeTheCpu) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(41);
  for (DType dtype : kAllDtypes)
    for (const Shape& shape : {Shape{1, 1}, Shape{7, 33}, Shape{9, 3000}, Shape{3000, 9}})
      for (int64_t dim : {0, 1})
        for (kd::ArgReduceOp op : {kd::ArgReduceOp::ArgMax, kd::ArgReduceOp::ArgMin}) {
          SCOPED_TRACE(trace(op == kd::ArgReduceOp::ArgMax ? "argmax" : "argmin", dtype, shape,
                             Layout::Transposed) + " dim " + std::to_string(dim));
          // Integers from a small range: many ties, so "first" matters.
          Pair x = random_input(shape, dtype, Layout::Transposed);
          Shape out_shape = shape;
          out_shape[dim] = 1;
          Tensor got = poisoned(out_shape, kiln::kInt64, kGpu), want = poisoned(out_shape, kiln::kInt64, kCpu);
          gpu().arg_reduce(op, x.g, dim, got);
          cpu().arg_reduce(op, x.c, dim, want);
          expect_same(got, want, kiln::kInt64);
        }
}

TEST(CudaKernels, ArgMaxReturnsTheFirstNan) {
  SKIP_WITHOUT_GPU();
  Tensor x = kiln::randn({2, 5000});
  x.select(0, 1).select(0, 4000).fill_(NAN);
  x.select(0, 1).select(0, 4500).fill_(NAN);
  Tensor got = poisoned({2, 1}, kiln::kInt64, kGpu);
  gpu().arg_reduce(kd::ArgReduceOp::ArgMax, x.to(kGpu), 1, got);
  EXPECT_EQ(got.cpu().at<int64_t>({1, 0}), 4000);
}

// --- softmax --------------------------------------------------------------------------

// [outer, n, inner] around dim, as src/ops/softmax.cpp hands it to the backends.
kd::RowGeometry rows_around(const Shape& shape, int64_t dim) {
  kd::RowGeometry g;
  for (int64_t d = 0; d < dim; ++d) g.outer *= shape[d];
  g.n = shape[dim];
  for (size_t d = static_cast<size_t>(dim) + 1; d < shape.size(); ++d) g.inner *= shape[d];
  return g;
}

TEST(CudaKernels, SoftmaxAndLogSoftmaxForwardAndBackwardMatchTheCpu) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(50);
  struct Case {
    Shape shape;
    int64_t dim;
  };
  // Warp per row, block per row (n > 1024), column walk (inner > 1), degenerate sizes.
  const Case cases[] = {{{1, 1}, 1}, {{7, 33}, 1}, {{7, 33}, 0}, {{5, 3000}, 1}, {{4, 6, 5}, 1},
                        {{0, 5}, 1}, {{3, 50257}, 1}, {{1000, 17}, 1}};
  for (DType dtype : kFloatDtypes)
    for (const Case& c : cases)
      for (bool log : {false, true}) {
        SCOPED_TRACE(trace(log ? "log_softmax" : "softmax", dtype, c.shape, Layout::Contiguous) + " dim " +
                     std::to_string(c.dim));
        const Tensor x = (kiln::randn(c.shape, kiln::kFloat64) * 3.0).to(dtype);
        const Tensor gy = kiln::randn(c.shape, kiln::kFloat64).to(dtype);
        Tensor y_g = poisoned(c.shape, dtype, kGpu), y_c = poisoned(c.shape, dtype, kCpu);
        const kd::RowGeometry g = rows_around(c.shape, c.dim);
        gpu().softmax_forward(x.to(kGpu), g, log, y_g);
        cpu().softmax_forward(x, g, log, y_c);
        expect_same(y_g, y_c, dtype);
        // Backward from the same y (the CPU's), so only the backward kernel is compared.
        Tensor gx_g = poisoned(c.shape, dtype, kGpu), gx_c = poisoned(c.shape, dtype, kCpu);
        gpu().softmax_backward(y_c.to(kGpu), gy.to(kGpu), g, log, gx_g);
        cpu().softmax_backward(y_c, gy, g, log, gx_c);
        Tol t = tol_for(dtype);
        t.atol = std::max(t.atol, dtype == kiln::kFloat32 ? 1e-5 : t.atol);
        EXPECT_TENSOR_CLOSE(gx_g.cpu().to(kiln::kFloat64), gx_c.to(kiln::kFloat64), t.rtol, t.atol);
      }
}

TEST(CudaKernels, SoftmaxOfAnAllMinusInfinityRowMatchesTheCpu) {
  SKIP_WITHOUT_GPU();
  Tensor x = kiln::randn({3, 40});
  x.select(0, 1).fill_(-INFINITY);
  Tensor got = poisoned({3, 40}, kiln::kFloat32, kGpu), want = poisoned({3, 40}, kiln::kFloat32, kCpu);
  gpu().softmax_forward(x.to(kGpu), rows_around({3, 40}, 1), false, got);
  cpu().softmax_forward(x, rows_around({3, 40}, 1), false, want);
  EXPECT_TENSOR_CLOSE(got.cpu(), want, 1e-5, 1e-6);
}

// --- indexing ---------------------------------------------------------------------------

TEST(CudaKernels, IndexSelectAndGatherMatchTheCpuForEveryDtype) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(60);
  for (DType dtype : kAllDtypes)
    for (Layout layout : {Layout::Contiguous, Layout::Transposed})
      for (int64_t dim : {0, 1}) {
        SCOPED_TRACE(trace("index_select/gather", dtype, {40, 50}, layout) + " dim " + std::to_string(dim));
        Pair x = random_input({40, 50}, dtype, layout);
        const Tensor index = kiln::randint(0, 40, {77}, kiln::kInt64);
        Shape out_shape{40, 50};
        out_shape[dim] = 77;
        Tensor got = poisoned(out_shape, dtype, kGpu), want = poisoned(out_shape, dtype, kCpu);
        gpu().index_select(x.g, dim, index.to(kGpu), got);
        cpu().index_select(x.c, dim, index, want);
        expect_same(got, want, dtype);

        const Tensor gidx = kiln::randint(0, 40, {30, 30}, kiln::kInt64);
        Tensor ggot = poisoned({30, 30}, dtype, kGpu), gwant = poisoned({30, 30}, dtype, kCpu);
        gpu().gather(x.g, dim, gidx.to(kGpu), ggot);
        cpu().gather(x.c, dim, gidx, gwant);
        expect_same(ggot, gwant, dtype);
      }
}

TEST(CudaKernels, ScatterAddAccumulatesDuplicateIndicesForEveryDtype) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(61);
  for (DType dtype : kAllDtypes)
    for (int64_t dim : {0, 1}) {
      SCOPED_TRACE(trace("scatter_add", dtype, {33, 35}, Layout::Contiguous) + " dim " + std::to_string(dim));
      // Indices into a dim of size 5: every target receives many additions.
      const Tensor index = kiln::randint(0, 5, {33, 35}, kiln::kInt64);
      const Tensor src = random_cpu({33, 35}, dtype);
      Shape self_shape{33, 35};
      self_shape[dim] = 5;
      const Tensor self = random_cpu(self_shape, dtype);
      Tensor got = self.to(kGpu).clone(), want = self.clone();
      gpu().scatter_add(got, dim, index.to(kGpu), src.to(kGpu));
      cpu().scatter_add(want, dim, index, src);
      // Atomics add in no fixed order; f16/bf16 round after every addition.
      Tol t = tol_for(dtype);
      if (dtype == kiln::kFloat32) t.atol = 1e-5;
      if (dtype == kiln::kFloat16) t = {1e-2, 5e-2};
      if (dtype == kiln::kBFloat16) t = {5e-2, 2e-1};
      EXPECT_TENSOR_CLOSE(got.cpu().to(kiln::kFloat64), want.to(kiln::kFloat64), t.rtol, t.atol);
    }
}

// --- random ---------------------------------------------------------------------------------

TEST(CudaKernels, RandRandnRandintOnCudaEqualTheCpuNumbersForTheSameSeed) {
  SKIP_WITHOUT_GPU();
  for (int64_t n : {1, 2, 7, 100001}) {
    for (DType dtype : kFloatDtypes) {
      SCOPED_TRACE(kiln::detail::str_cat(kiln::dtype_name(dtype), " n=", n));
      kiln::manual_seed(1234);
      const Tensor u_c = kiln::rand({n}, dtype);
      kiln::manual_seed(1234);
      const Tensor u_g = kiln::rand({n}, kiln::dtype(dtype).device(kGpu));
      EXPECT_TENSOR_CLOSE(u_g.cpu().to(kiln::kFloat64), u_c.to(kiln::kFloat64), 0.0, 0.0);

      kiln::manual_seed(99);
      const Tensor z_c = kiln::randn({n}, dtype);
      kiln::manual_seed(99);
      const Tensor z_g = kiln::randn({n}, kiln::dtype(dtype).device(kGpu));
      // f64 log/cos of CUDA and glibc may differ by an ulp before rounding.
      const double rtol = dtype == kiln::kFloat64 ? 1e-14 : (dtype == kiln::kFloat32 ? 1e-6 : 1e-2);
      EXPECT_TENSOR_CLOSE(z_g.cpu().to(kiln::kFloat64), z_c.to(kiln::kFloat64), rtol, rtol);
    }
    for (DType dtype : {kiln::kInt32, kiln::kInt64, kiln::kUInt8}) {
      kiln::manual_seed(7);
      const Tensor r_c = kiln::randint(0, 200, {n}, dtype);
      kiln::manual_seed(7);
      const Tensor r_g = kiln::randint(0, 200, {n}, kiln::dtype(dtype).device(kGpu));
      EXPECT_TENSOR_CLOSE(r_g.cpu().to(kiln::kFloat64), r_c.to(kiln::kFloat64), 0.0, 0.0);
    }
  }
}

TEST(CudaKernels, ConsecutiveRandomCallsContinueTheSameStreamOnBothDevices) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(5);
  const Tensor a_c = kiln::rand({3}), b_c = kiln::randn({5});
  kiln::manual_seed(5);
  const Tensor a_g = kiln::rand({3}, kGpu), b_g = kiln::randn({5}, kGpu);
  EXPECT_TENSOR_CLOSE(a_g.cpu(), a_c, 0.0, 0.0);
  EXPECT_TENSOR_CLOSE(b_g.cpu(), b_c, 1e-6, 1e-6);
}

// --- errors -----------------------------------------------------------------------------------

TEST(CudaKernels, FloatingOnlyOpsRejectIntegerTensorsWithADTypeError) {
  SKIP_WITHOUT_GPU();
  Tensor x = kiln::ones({4}, kiln::dtype(kiln::kInt32).device(kGpu));
  Tensor out = kd::make_empty({4}, kiln::kInt32, kGpu);
  EXPECT_THROW(gpu().unary(kd::UnaryOp::Exp, x, out, {}), kiln::DTypeError);
}

}  // namespace
