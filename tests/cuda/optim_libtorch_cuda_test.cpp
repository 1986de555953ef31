// RMSprop and Adagrad on CUDA (the fused multi-tensor kernel) against the
// CPU backend: three steps on the same parameters and gradients, f32 and
// bf16, with every option that changes the update.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "support/tensor_assert.h"

namespace {

namespace kc = kiln::cuda;
using kiln::Tensor;

#define SKIP_WITHOUT_GPU() \
  if (!kc::is_available()) GTEST_SKIP() << "no usable CUDA device: " << kc::unavailable_reason()

using Factory = std::function<std::unique_ptr<kiln::optim::Optimizer>(std::vector<Tensor>)>;

// Three steps of the optimizer from `make` on CPU and on CUDA copies of the
// same parameters (several shapes, one larger than a kernel chunk).
void expect_cuda_matches_cpu(const Factory& make, kiln::DType dtype, double tol) {
  kiln::manual_seed(7);
  const std::vector<kiln::Shape> shapes = {{3}, {17, 5}, {70000}, {2, 3, 4}};
  std::vector<Tensor> cpu, gpu;
  for (const auto& s : shapes) {
    Tensor p = kiln::randn(s).to(dtype);
    cpu.push_back(p.clone().requires_grad_());
    gpu.push_back(p.to(kiln::Device("cuda:0")).requires_grad_());
  }
  auto opt_cpu = make(cpu), opt_gpu = make(gpu);
  for (int step = 0; step < 3; ++step) {
    for (size_t i = 0; i < shapes.size(); ++i) {
      Tensor g = kiln::randn(shapes[i]).to(dtype);
      cpu[i].set_grad(g);
      gpu[i].set_grad(g.to(kiln::Device("cuda:0")));
    }
    opt_cpu->step();
    opt_gpu->step();
  }
  for (size_t i = 0; i < shapes.size(); ++i) {
    SCOPED_TRACE("parameter " + std::to_string(i));
    EXPECT_TENSOR_CLOSE(gpu[i].cpu().to(kiln::kFloat64), cpu[i].to(kiln::kFloat64), tol, tol);
  }
}

TEST(CudaRMSprop, MatchesTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  for (bool centered : {false, true}) {
    for (double momentum : {0.0, 0.9}) {
      SCOPED_TRACE("centered " + std::to_string(centered) + " momentum " + std::to_string(momentum));
      auto make = [&](std::vector<Tensor> p) {
        return std::make_unique<kiln::optim::RMSprop>(
            p, kiln::optim::RMSpropOptions(1e-2).momentum(momentum).centered(centered).weight_decay(1e-3));
      };
      expect_cuda_matches_cpu(make, kiln::kFloat32, 1e-5);
      expect_cuda_matches_cpu(make, kiln::kBFloat16, 1e-2);
    }
  }
}

TEST(CudaAdagrad, MatchesTheCpuBackend) {
  SKIP_WITHOUT_GPU();
  auto make = [](std::vector<Tensor> p) {
    return std::make_unique<kiln::optim::Adagrad>(
        p, kiln::optim::AdagradOptions(0.1).lr_decay(0.01).weight_decay(1e-3).initial_accumulator_value(0.1));
  };
  expect_cuda_matches_cpu(make, kiln::kFloat32, 1e-5);
  expect_cuda_matches_cpu(make, kiln::kBFloat16, 1e-2);
}

// The new image ops run on CUDA through existing primitives: compare with the CPU.
TEST(CudaImageOps, MatchTheCpu) {
  SKIP_WITHOUT_GPU();
  kiln::manual_seed(8);
  const kiln::Device gpu("cuda:0");
  Tensor x = kiln::randn({2, 4, 5, 6}), w = kiln::randn({4, 3, 3, 3}), b = kiln::randn({3});
  EXPECT_TENSOR_CLOSE(kiln::conv_transpose2d(x.to(gpu), w.to(gpu), b.to(gpu), 2, 1, 1).cpu(),
                      kiln::conv_transpose2d(x, w, b, 2, 1, 1), 1e-4, 1e-4);
  for (const char* mode : {"constant", "reflect", "replicate", "circular"})
    EXPECT_TENSOR_CLOSE(kiln::pad(x.to(gpu), {2, 1, 1, 2}, mode).cpu(), kiln::pad(x, {2, 1, 1, 2}, mode), 0, 0);
  EXPECT_TENSOR_CLOSE(kiln::interpolate(x.to(gpu), kiln::Size2(9, 11), std::nullopt, "bilinear").cpu(),
                      kiln::interpolate(x, kiln::Size2(9, 11), std::nullopt, "bilinear"), 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(kiln::group_norm(x.to(gpu), 2).cpu(), kiln::group_norm(x, 2), 1e-4, 1e-5);
}

}  // namespace
