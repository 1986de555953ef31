// The two autograd hooks data-parallel training rests on (src/autograd/node.h):
// a leaf's post-accumulate hook and the end-of-backward callback.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "autograd/node.h"

namespace kiln {
namespace {

TEST(DistAutogradHooks, PostAccumulateHookSeesTheAccumulatedGradient) {
  Tensor w = tensor({1.0f, 2.0f}).requires_grad_();
  std::vector<std::vector<float>> seen;
  const size_t h = autograd::add_post_accumulate_grad_hook(w, [&](const Tensor& leaf) {
    seen.push_back(leaf.grad().to_vector<float>());
  });
  // w is used twice: one accumulation of the summed gradient, one hook call.
  ((w * 3).sum() + (w * w).sum()).backward();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0], (std::vector<float>{5, 7}));
  (w * 1).sum().backward();
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[1], (std::vector<float>{6, 8})) << "after accumulating into the existing grad";
  autograd::remove_post_accumulate_grad_hook(w, h);
  (w * 1).sum().backward();
  EXPECT_EQ(seen.size(), 2u);
}

TEST(DistAutogradHooks, CallbacksRunOnceAfterEveryNode) {
  Tensor a = tensor({1.0f}).requires_grad_();
  Tensor b = tensor({2.0f}).requires_grad_();
  std::vector<std::string> events;
  a.register_hook([&](const Tensor&) {
    events.push_back("a");
    autograd::queue_callback([&] {
      events.push_back("end");
      EXPECT_TRUE(a.grad().defined() && b.grad().defined()) << "callbacks see every gradient";
    });
  });
  b.register_hook([&](const Tensor&) { events.push_back("b"); });
  (a * b).sum().backward();
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events.back(), "end");
  EXPECT_THROW(autograd::queue_callback([] {}), AutogradError) << "no backward is running";
}

}  // namespace
}  // namespace kiln
