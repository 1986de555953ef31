// The fused cross-entropy primitives (kernels/cross_entropy.cu through
// CudaBackend) against the CPU backend on the same inputs: every floating
// dtype, warp-per-row and block-per-row sizes, ignored rows, label
// smoothing. GPU outputs are poisoned with NaN first, so an element the
// kernel forgets to write fails. Skipped without a GPU.
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
using kiln::Shape;
using kiln::Tensor;
namespace kd = kiln::detail;

const Device kCpu("cpu");
const Device kGpu("cuda:0");

Tensor poisoned(const Shape& shape, DType dtype, const Device& device) {
  Tensor t = kd::make_empty(shape, dtype, device);
  if (t.numel() > 0) kd::backend_for(device).fill(t, kiln::Scalar(NAN));
  return t;
}

struct Tol {
  double rtol, atol;
};
Tol tol_for(DType t) {
  switch (t) {
    case DType::Float64: return {1e-12, 1e-12};
    case DType::Float32: return {1e-5, 1e-5};
    case DType::Float16: return {2e-3, 2e-3};
    default: return {1e-2, 1e-2};  // bfloat16
  }
}

}  // namespace

TEST(CudaCrossEntropy, ForwardAndBackwardMatchTheCpuForEveryFloatingDtype) {
  if (!kiln::cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kiln::cuda::unavailable_reason();
  kiln::manual_seed(71);
  kd::Backend& gpu = kd::backend_for(kGpu);
  kd::Backend& cpu = kd::cpu_backend();
  // Warp per row (C <= 1024), block per row (C > 1024), one class, no rows.
  const Shape shapes[] = {{1, 1}, {9, 33}, {1000, 10}, {5, 3000}, {3, 50257}, {0, 7}};
  const DType dtypes[] = {kiln::kFloat16, kiln::kBFloat16, kiln::kFloat32, kiln::kFloat64};
  const int64_t ignore = -100;
  for (DType dtype : dtypes)
    for (const Shape& s : shapes)
      for (double eps : {0.0, 0.2}) {
        SCOPED_TRACE(std::string(kiln::dtype_name(dtype)) + " " + kiln::shape_str(s) + " eps " + std::to_string(eps));
        const int64_t N = s[0], C = s[1];
        const DType lse_dtype = dtype == kiln::kFloat64 ? kiln::kFloat64 : kiln::kFloat32;
        const Tensor x = (kiln::randn(s, kiln::kFloat64) * 3.0).to(dtype);
        Tensor target = kiln::randint(0, C, {N});
        if (N > 1) target.select(0, 1).fill_(ignore);
        const Tensor g = kiln::randn({N}, kiln::kFloat64).to(dtype);

        Tensor loss_g = poisoned({N}, dtype, kGpu), lse_g = poisoned({N}, lse_dtype, kGpu);
        Tensor loss_c = poisoned({N}, dtype, kCpu), lse_c = poisoned({N}, lse_dtype, kCpu);
        Tensor errors_g = kiln::zeros({2}, kiln::TensorOptions(kiln::kInt64).device(kGpu));
        Tensor errors_c = kiln::zeros({2}, kiln::kInt64);
        gpu.cross_entropy_forward(x.to(kGpu), target.to(kGpu), ignore, eps, loss_g, lse_g, errors_g);
        cpu.cross_entropy_forward(x, target, ignore, eps, loss_c, lse_c, errors_c);
        EXPECT_EQ(errors_g.cpu().to_vector<int64_t>(), (std::vector<int64_t>{0, 0}));
        const Tol t = tol_for(dtype);
        EXPECT_TENSOR_CLOSE(loss_g.cpu().to(kiln::kFloat64), loss_c.to(kiln::kFloat64), t.rtol, t.atol);
        EXPECT_TENSOR_CLOSE(lse_g.cpu().to(kiln::kFloat64), lse_c.to(kiln::kFloat64), t.rtol, t.atol);

        // Backward from the CPU's lse, so only the backward kernel is compared.
        Tensor gx_g = poisoned(s, dtype, kGpu), gx_c = poisoned(s, dtype, kCpu);
        gpu.cross_entropy_backward(g.to(kGpu), x.to(kGpu), target.to(kGpu), lse_c.to(kGpu), ignore, eps, gx_g);
        cpu.cross_entropy_backward(g, x, target, lse_c, ignore, eps, gx_c);
        EXPECT_TENSOR_CLOSE(gx_g.cpu().to(kiln::kFloat64), gx_c.to(kiln::kFloat64), t.rtol, t.atol);
      }
}

TEST(CudaCrossEntropy, OpMatchesTheCpuOpIncludingGradient) {
  if (!kiln::cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kiln::cuda::unavailable_reason();
  kiln::manual_seed(72);
  const Tensor x = kiln::randn({64, 100});
  Tensor target = kiln::randint(0, 100, {64});
  target.select(0, 3).fill_(-100);
  Tensor xc = x.clone().requires_grad_(), xg = x.to(kGpu).requires_grad_();
  Tensor lc = kiln::cross_entropy(xc, target, -100, 0.1);
  Tensor lg = kiln::cross_entropy(xg, target.to(kGpu), -100, 0.1);
  EXPECT_NEAR(lg.cpu().item<float>(), lc.item<float>(), 1e-5);
  lc.backward();
  lg.backward();
  EXPECT_TENSOR_CLOSE(xg.grad().cpu(), xc.grad(), 1e-5, 1e-6);
}

// The GPU checks targets inside the kernel: the call returns without waiting,
// the kernel counts the bad target, and the IndexError comes when the host
// next waits for the device (here: the loss's item()).
TEST(CudaCrossEntropy, AnOutOfRangeTargetRaisesIndexErrorAtTheNextHostRead) {
  if (!kiln::cuda::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kiln::cuda::unavailable_reason();
  const Tensor logits = kiln::zeros({4, 5}).to(kGpu);
  const Tensor target = kiln::tensor(std::vector<int64_t>{0, 1, 9, 2}).to(kGpu);
  Tensor loss;
  try {
    loss = kiln::cross_entropy(logits, target);
  } catch (const kiln::IndexError&) {
    // Allowed: KILN_CUDA_SYNC_DEBUG=1 checks at once.
    return;
  }
  try {
    (void)loss.item<float>();
    ADD_FAILURE() << "expected IndexError";
  } catch (const kiln::IndexError& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("[0, 5)"), std::string::npos) << what;
    EXPECT_NE(what.find("9"), std::string::npos) << what;
  }
  // Reported once: the device and later calls are fine.
  EXPECT_NO_THROW(kiln::cross_entropy(logits, kiln::tensor(std::vector<int64_t>{0, 1, 2, 3}).to(kGpu)).item<float>());
}
