#include <kiln/data/sampler.h>

#include <algorithm>
#include <set>

#include <gtest/gtest.h>
#include <kiln/core/error.h>

namespace kiln::testing {
namespace {

TEST(DistributedSampler, RanksAreDisjointAndCoverTheEpochWhenSizesDivide) {
  std::set<int64_t> all;
  for (int64_t r = 0; r < 3; ++r) {
    auto mine = data::DistributedSampler(30, true, 11, r, 3).indices(4);
    EXPECT_EQ(mine.size(), 10u);
    for (int64_t i : mine) EXPECT_TRUE(all.insert(i).second) << "index " << i << " seen twice";
  }
  EXPECT_EQ(all.size(), 30u);
}

TEST(DistributedSampler, PadsToEqualLengthByWrappingAround) {
  // 10 examples over 4 ranks: 12 slots, the first two of the permutation repeat.
  std::vector<int64_t> everything;
  for (int64_t r = 0; r < 4; ++r) {
    auto mine = data::DistributedSampler(10, false, 0, r, 4).indices(0);
    EXPECT_EQ(mine.size(), 3u);
    everything.insert(everything.end(), mine.begin(), mine.end());
  }
  EXPECT_EQ(data::DistributedSampler(10, false, 0, 0, 4).indices(0), (std::vector<int64_t>{0, 4, 8}));
  EXPECT_EQ(data::DistributedSampler(10, false, 0, 3, 4).indices(0), (std::vector<int64_t>{3, 7, 1}));
  std::sort(everything.begin(), everything.end());
  EXPECT_EQ(everything, (std::vector<int64_t>{0, 0, 1, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
}

TEST(DistributedSampler, AllRanksShareOnePermutationPerEpoch) {
  // Rank r's k-th index is permutation[r + k * world]: interleave to rebuild it.
  auto r0 = data::DistributedSampler(8, true, 3, 0, 2).indices(1);
  auto r1 = data::DistributedSampler(8, true, 3, 1, 2).indices(1);
  auto whole = data::DistributedSampler(8, true, 3, 0, 1).indices(1);
  for (size_t k = 0; k < 4; ++k) {
    EXPECT_EQ(r0[k], whole[2 * k]);
    EXPECT_EQ(r1[k], whole[2 * k + 1]);
  }
  EXPECT_NE(whole, data::DistributedSampler(8, true, 3, 0, 1).indices(2));
}

TEST(DistributedSampler, EmptyDatasetGivesNoIndices) {
  EXPECT_TRUE(data::DistributedSampler(0, true, 0, 1, 2).indices(0).empty());
}

TEST(DistributedSampler, RejectsRankOutsideWorld) {
  EXPECT_THROW(data::DistributedSampler(10, true, 0, 2, 2), ValueError);
  EXPECT_THROW(data::DistributedSampler(10, true, 0, 0, 0), ValueError);
}

}  // namespace
}  // namespace kiln::testing
