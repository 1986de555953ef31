// CudaBackend::matmul (cuBLASLt, cuBLAS for f64) against the CPU backend on
// the same inputs: row- and column-major operands, broadcast batches, every
// floating dtype, TF32 on and off. Skipped without a GPU.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "support/tensor_assert.h"

namespace {

using kiln::Device;
using kiln::Tensor;
namespace kc = kiln::cuda;

#define SKIP_WITHOUT_GPU() \
  if (!kc::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kc::unavailable_reason()

const Device kGpu("cuda:0");

// CPU result in f64 of the same (rounded) inputs, and the GPU result back in f64.
void expect_gpu_matches_cpu(const Tensor& a, const Tensor& b, kiln::DType dtype, double rtol, double atol) {
  const Tensor a_d = a.to(dtype), b_d = b.to(dtype);
  const Tensor want = kiln::matmul(a_d.to(kiln::kFloat64), b_d.to(kiln::kFloat64));
  const Tensor got = kiln::matmul(a_d.to(kGpu), b_d.to(kGpu)).cpu().to(kiln::kFloat64);
  EXPECT_TENSOR_CLOSE(got, want, rtol, atol);
}

struct DtypeTol {
  kiln::DType dtype;
  double rtol, atol;
};
const DtypeTol kDtypes[] = {
    {kiln::kFloat64, 1e-12, 1e-12},
    {kiln::kFloat32, 1e-5, 1e-4},
    {kiln::kFloat16, 1e-2, 1e-2},
    {kiln::kBFloat16, 2e-2, 5e-2},
};

TEST(CudaMatmul, RowMajorOperandsOddSizesEveryDtype) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(1);
  const Tensor a = kiln::randn({37, 53}), b = kiln::randn({53, 29});
  for (const auto& d : kDtypes) {
    SCOPED_TRACE(kiln::dtype_name(d.dtype));
    expect_gpu_matches_cpu(a, b, d.dtype, d.rtol, d.atol);
  }
}

TEST(CudaMatmul, TransposedOperandsAreUsedWithoutACopyAndGiveTheSameResult) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(2);
  const Tensor at = kiln::randn({64, 48}), bt = kiln::randn({32, 64});
  for (const auto& d : kDtypes) {
    SCOPED_TRACE(kiln::dtype_name(d.dtype));
    // at.t() is column-major [48, 64]; bt.t() column-major [64, 32].
    const Tensor a = at.to(d.dtype).to(kGpu).t(), b = bt.to(d.dtype).to(kGpu).t();
    const Tensor want = kiln::matmul(at.to(d.dtype).to(kiln::kFloat64).t(), bt.to(d.dtype).to(kiln::kFloat64).t());
    EXPECT_TENSOR_CLOSE(kiln::matmul(a, b).cpu().to(kiln::kFloat64), want, d.rtol, d.atol);
  }
}

TEST(CudaMatmul, BatchedWithABroadcastOperand) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(3);
  const Tensor a = kiln::randn({4, 17, 33}), b = kiln::randn({1, 33, 9}).expand({4, 33, 9});
  for (const auto& d : kDtypes) {
    SCOPED_TRACE(kiln::dtype_name(d.dtype));
    expect_gpu_matches_cpu(a, b, d.dtype, d.rtol, d.atol);
  }
}

TEST(CudaMatmul, MatrixVectorAndSingleRowShapes) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(4);
  expect_gpu_matches_cpu(kiln::randn({1, 70}), kiln::randn({70, 5}), kiln::kFloat32, 1e-5, 1e-4);
  expect_gpu_matches_cpu(kiln::randn({70, 5}), kiln::randn({5}), kiln::kFloat32, 1e-5, 1e-4);
}

TEST(CudaMatmul, Tf32StaysWithinItsPrecision) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(5);
  const bool old = kc::allow_tf32();
  kc::set_allow_tf32(true);
  // TF32 keeps 10 mantissa bits: relative error ~1e-3 per product.
  expect_gpu_matches_cpu(kiln::randn({128, 256}), kiln::randn({256, 64}), kiln::kFloat32, 5e-3, 5e-2);
  kc::set_allow_tf32(old);
}

TEST(CudaMatmul, EmptyInnerDimensionGivesZeros) {
  SKIP_WITHOUT_GPU();
  const Tensor out = kiln::matmul(kiln::empty({3, 0}, kiln::TensorOptions().device(kGpu)),
                                  kiln::empty({0, 4}, kiln::TensorOptions().device(kGpu)));
  EXPECT_TENSOR_CLOSE(out.cpu(), kiln::zeros({3, 4}));
}

}  // namespace
