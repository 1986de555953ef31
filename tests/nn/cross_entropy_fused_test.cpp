// cross_entropy on [N,C] logits runs the backend's fused primitive; it must
// equal the unfused composition (log_softmax + gather, mixed with the row
// mean for label smoothing) in value and gradient, for every reduction, with
// ignored rows.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <string>

#include "autograd/node.h"
#include "backend/backend.h"
#include "core/tensor_impl.h"
#include "support/tensor_assert.h"

using namespace kiln;

namespace {

// Per-row losses from differentiable ops only, PyTorch's definition.
Tensor composed_per_row(const Tensor& logits, const Tensor& target, int64_t ignore_index, double eps) {
  const int64_t C = logits.size(1);
  Tensor ignored = target == full({}, ignore_index, TensorOptions(kInt64));
  Tensor safe = where(ignored, zeros({}, TensorOptions(kInt64)), target);
  Tensor lp = log_softmax(logits, 1);
  Tensor nll = -gather(lp, 1, safe.unsqueeze(1)).squeeze(1);
  Tensor smooth = -sum(lp, {1}) / static_cast<double>(C);
  return (nll * (1.0 - eps) + smooth * eps) * (1.0 - ignored.to(logits.dtype()));
}

Tensor composed(const Tensor& logits, const Tensor& target, int64_t ignore_index, double eps,
                const std::string& reduction) {
  Tensor per_row = composed_per_row(logits, target, ignore_index, eps);
  if (reduction == "none") return per_row;
  if (reduction == "sum") return sum(per_row);
  const double counted = sum((target != full({}, ignore_index, TensorOptions(kInt64))).to(kFloat64)).item<double>();
  return sum(per_row) / counted;
}

}  // namespace

TEST(FusedCrossEntropy, EqualsLogSoftmaxGatherInValueAndGradient) {
  manual_seed(81);
  const int64_t ignore = -1;
  for (DType dtype : {kFloat32, kFloat64})
    for (double eps : {0.0, 0.25})
      for (const char* reduction : {"mean", "sum", "none"}) {
        SCOPED_TRACE(std::string(dtype_name(dtype)) + " eps " + std::to_string(eps) + " " + reduction);
        const Tensor x = (randn({13, 7}, kFloat64) * 4.0).to(dtype);
        Tensor target = randint(0, 7, {13});
        target.select(0, 0).fill_(ignore);
        target.select(0, 5).fill_(ignore);
        const Tensor g = randn(std::string(reduction) == "none" ? Shape{13} : Shape{}, kFloat64).to(dtype);
        const double tol = dtype == kFloat64 ? 1e-12 : 1e-5;

        Tensor xf = x.clone().requires_grad_(), xr = x.clone().requires_grad_();
        Tensor fused = cross_entropy(xf, target, ignore, eps, reduction);
        Tensor want = composed(xr, target, ignore, eps, reduction);
        EXPECT_TENSOR_CLOSE(fused, want, tol, tol);
        fused.backward(g);
        want.backward(g);
        EXPECT_TENSOR_CLOSE(xf.grad(), xr.grad(), tol, tol);
        // Ignored rows get no gradient.
        EXPECT_EQ(abs(xf.grad().select(0, 5)).max().item<double>(), 0.0);
      }
}

TEST(FusedCrossEntropy, BackendPrimitiveSavesRowLogsumexpInOpmath) {
  manual_seed(82);
  const Tensor x = randn({6, 9}).to(kBFloat16);
  const Tensor target = randint(0, 9, {6});
  Tensor losses = detail::make_empty({6}, kBFloat16, Device("cpu"));
  Tensor lse = detail::make_empty({6}, kFloat32, Device("cpu"));
  Tensor target_errors = zeros({2}, kInt64);
  detail::cpu_backend().cross_entropy_forward(x, target, -100, 0.0, losses, lse, target_errors);
  EXPECT_TENSOR_CLOSE(lse, logsumexp(x.to(kFloat32), {1}), 1e-6, 1e-6);
  EXPECT_TENSOR_CLOSE(losses.to(kFloat32), composed_per_row(x.to(kFloat32), target, -100, 0.0), 1e-2, 1e-2);
}

TEST(FusedCrossEntropy, MatchesTheSpatialPathOnTheSameRows) {
  manual_seed(83);
  Tensor x = randn({10, 4}, kFloat64);
  Tensor target = randint(0, 4, {10});
  target.select(0, 2).fill_(-100);
  // [N,C,1] has its rows gathered into [N,C] first; [N,C] goes straight in.
  Tensor spatial = cross_entropy(x.unsqueeze(2), target.unsqueeze(1), -100, 0.1, "none").squeeze(1);
  Tensor fused = cross_entropy(x.clone().requires_grad_(), target, -100, 0.1, "none");
  EXPECT_TENSOR_CLOSE(fused, spatial, 1e-12, 1e-12);
  // "none" reshapes the per-row losses to the target's shape; below that sits the fused node.
  ASSERT_TRUE(fused.grad_fn() != nullptr);
  ASSERT_EQ(fused.grad_fn()->next_edges().size(), 1u);
  ASSERT_TRUE(fused.grad_fn()->next_edges()[0].fn != nullptr);
  EXPECT_EQ(fused.grad_fn()->next_edges()[0].fn->name(), "FusedCrossEntropyBackward");
}

// The targets are checked inside the fused primitive (no host read of the
// targets, so no GPU stall per call): a bad one is counted in target_errors
// with its value, and its row's loss is NaN.
TEST(FusedCrossEntropy, ThePrimitiveFlagsAnOutOfRangeTargetItself) {
  const Tensor x = zeros({3, 4});
  const Tensor target = tensor(std::vector<int64_t>{1, 7, -100});
  Tensor losses = detail::make_empty({3}, kFloat32, Device("cpu"));
  Tensor lse = detail::make_empty({3}, kFloat32, Device("cpu"));
  Tensor target_errors = zeros({2}, kInt64);
  detail::cpu_backend().cross_entropy_forward(x, target, -100, 0.0, losses, lse, target_errors);
  EXPECT_EQ(target_errors.to_vector<int64_t>(), (std::vector<int64_t>{1, 7}));
  const std::vector<float> l = losses.to_vector<float>();
  EXPECT_NEAR(l[0], std::log(4.0f), 1e-6);
  EXPECT_TRUE(std::isnan(l[1]));
  EXPECT_EQ(l[2], 0.0f);
}

// ... and the op still raises kiln::IndexError for it, in every layout.
TEST(FusedCrossEntropy, AnOutOfRangeTargetStillRaisesIndexError) {
  const Tensor logits = zeros({3, 4});
  for (const std::vector<int64_t>& bad : {std::vector<int64_t>{0, 4, 1}, std::vector<int64_t>{-5, 0, 1}}) {
    try {
      cross_entropy(logits, tensor(bad));
      ADD_FAILURE() << "expected IndexError";
    } catch (const IndexError& e) {
      const std::string what = e.what();
      EXPECT_NE(what.find("cross_entropy"), std::string::npos) << what;
      EXPECT_NE(what.find("[0, 4)"), std::string::npos) << what;
      EXPECT_NE(what.find(std::to_string(bad[0] == 0 ? 4 : -5)), std::string::npos) << what;
    }
  }
  // Spatial targets [N, d1] for logits [N, C, d1].
  EXPECT_THROW(cross_entropy(zeros({2, 4, 3}), tensor(std::vector<int64_t>{0, 1, 2, 3, 9, 0}, {2, 3})), IndexError);
  // A row equal to ignore_index is never out of range.
  EXPECT_NO_THROW(cross_entropy(logits, tensor(std::vector<int64_t>{0, -100, 3})));
}
