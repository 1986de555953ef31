// SyncBatchNorm2d in a world of one is BatchNorm2d: outputs, input and
// parameter gradients, running statistics (in training and eval mode).
#include <gtest/gtest.h>

#include "kiln/dist/dist.h"
#include "support/tensor_assert.h"

namespace kiln::dist {
namespace {

TEST(SyncBatchNormLocal, MatchesBatchNorm2dForwardAndBackward) {
  auto sync = SyncBatchNorm2d(3, 1e-5, 0.1, make_local_communicator());
  auto plain = nn::BatchNorm2d(3);
  manual_seed(4);
  const Tensor x0 = randn({5, 3, 4, 6}) * 3 + 1;
  Tensor xa = x0.clone().requires_grad_(), xb = x0.clone().requires_grad_();
  const Tensor w = randn({5, 3, 4, 6});
  Tensor ya = sync(xa), yb = plain(xb);
  EXPECT_TENSOR_CLOSE(ya, yb, 1e-5, 1e-6);
  (ya * w).sum().backward();
  (yb * w).sum().backward();
  EXPECT_TENSOR_CLOSE(xa.grad(), xb.grad(), 1e-4, 1e-6);
  EXPECT_TENSOR_CLOSE(sync->weight.grad(), plain->weight.grad(), 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(sync->bias.grad(), plain->bias.grad(), 1e-5, 1e-6);
  EXPECT_TENSOR_CLOSE(sync->running_mean, plain->running_mean, 1e-6, 1e-7);
  EXPECT_TENSOR_CLOSE(sync->running_var, plain->running_var, 1e-5, 1e-7);
  EXPECT_EQ(sync->num_batches_tracked.item<int64_t>(), 1);
  sync->eval();
  plain->eval();
  EXPECT_TENSOR_CLOSE(sync(x0), plain(x0), 1e-6, 1e-7);
  // Same state_dict keys: checkpoints move between the two.
  auto a = sync->state_dict(), b = plain->state_dict();
  ASSERT_EQ(a.size(), b.size());
  for (const auto& [k, t] : a) EXPECT_EQ(b.count(k), 1u) << k;
}

TEST(SyncBatchNormLocal, ShapeErrors) {
  auto sync = SyncBatchNorm2d(3, 1e-5, 0.1, make_local_communicator());
  EXPECT_THROW(sync(zeros({2, 3})), ShapeError);
  EXPECT_THROW(sync(zeros({2, 4, 2, 2})), ShapeError);
}

}  // namespace
}  // namespace kiln::dist
