// The bucket plan: reverse registration order, a small first bucket, caps,
// alignment, shard-friendly lengths, dtypes and groups kept apart.
#include <gtest/gtest.h>

#include "dist/bucket_layout.h"

namespace kiln::dist::detail {
namespace {

std::vector<ParamSpec> f32(const std::vector<int64_t>& numels) {
  std::vector<ParamSpec> out;
  for (int64_t n : numels) out.push_back({n, kFloat32, 0});
  return out;
}

TEST(BucketPlan, ReverseOrderSmallFirstBucketThenCap) {
  // 4-byte elements: first cap 100 B = 25 elements, cap 400 B = 100 elements.
  const BucketPlan plan = plan_buckets(f32({50, 10, 60, 30, 20}), 100, 400, 1, 1);
  ASSERT_EQ(plan.buckets.size(), 2u);
  // Parameter 4 (20 elements) is taken first and does not reach 25; 3 joins and closes it.
  EXPECT_EQ(plan.buckets[0].params, (std::vector<size_t>{4, 3}));
  EXPECT_EQ(plan.buckets[0].numel, 50);
  EXPECT_EQ(plan.buckets[1].params, (std::vector<size_t>{2, 1, 0}));
  EXPECT_EQ(plan.buckets[1].numel, 120);
  EXPECT_EQ(plan.buckets[1].offset, 50);
  EXPECT_EQ(plan.param_offset, (std::vector<int64_t>{120, 110, 50, 20, 0}));
  EXPECT_EQ(plan.param_bucket, (std::vector<size_t>{1, 1, 1, 0, 0}));
  EXPECT_EQ(plan.buffer_numel.at(kFloat32), 170);
}

TEST(BucketPlan, ParametersAlignedAndBucketsPaddedToTheMultiple) {
  const BucketPlan plan = plan_buckets(f32({5, 3, 7}), 1 << 20, 1 << 20, 8, 6);
  ASSERT_EQ(plan.buckets.size(), 1u);
  // Offsets in the bucket: param 2 at 0, param 1 at 8, param 0 at 16; 21 used -> lcm(6, 8) = 24.
  EXPECT_EQ(plan.param_offset, (std::vector<int64_t>{16, 8, 0}));
  EXPECT_EQ(plan.buckets[0].numel, 24);
  for (int64_t off : plan.param_offset) EXPECT_EQ(off % 8, 0);
}

TEST(BucketPlan, EveryBucketOfABufferStartsAligned) {
  const BucketPlan plan = plan_buckets(f32({33, 1, 65, 2, 9}), 4, 200, 32, 2 * 32);
  for (const auto& b : plan.buckets) {
    EXPECT_EQ(b.offset % 64, 0);
    EXPECT_EQ(b.numel % 64, 0);
  }
  for (int64_t off : plan.param_offset) EXPECT_EQ(off % 32, 0);
}

TEST(BucketPlan, DTypesAndGroupsNeverShareABucket) {
  std::vector<ParamSpec> specs = {{10, kFloat32, 0}, {10, kFloat64, 0}, {10, kFloat32, 1}, {10, kFloat32, 0}};
  const BucketPlan plan = plan_buckets(specs, 1 << 20, 1 << 20, 1, 1);
  ASSERT_EQ(plan.buckets.size(), 3u);
  // Opened in reverse parameter order: (f32, 0) by param 3, (f32, 1) by 2, (f64, 0) by 1.
  EXPECT_EQ(plan.buckets[0].params, (std::vector<size_t>{3, 0}));
  EXPECT_EQ(plan.buckets[1].params, (std::vector<size_t>{2}));
  EXPECT_EQ(plan.buckets[1].group, 1);
  EXPECT_EQ(plan.buckets[2].params, (std::vector<size_t>{1}));
  EXPECT_EQ(plan.buckets[2].dtype, kFloat64);
  EXPECT_EQ(plan.buckets[2].offset, 0) << "each dtype has its own flat buffer";
  EXPECT_EQ(plan.buffer_numel.at(kFloat32), 30);
  EXPECT_EQ(plan.buffer_numel.at(kFloat64), 10);
}

TEST(BucketPlan, DefaultCapsOnAGpt2SizedModel) {
  // 124M f32 parameters as 148 tensors of ~0.84M elements: a 1 MiB first
  // bucket, then ~25 MiB buckets.
  const BucketPlan plan = plan_buckets(f32(std::vector<int64_t>(148, 840000)), 1 << 20, 25 << 20, 32, 32);
  EXPECT_EQ(plan.buckets[0].params.size(), 1u);
  EXPECT_EQ(plan.buckets[1].params.size(), 8u) << "8 x 3.36 MB reaches 25 MiB";
  EXPECT_EQ(plan.buckets.size(), 1u + (147 + 7) / 8);
}

}  // namespace
}  // namespace kiln::dist::detail
