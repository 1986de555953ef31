// multinomial's statistics (the op-table row, rows_multinomial.cpp, pins
// the exact draws): frequencies follow the weights, draws without
// replacement are distinct, zero weights are never drawn, and the generator
// advances between calls.
#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include <kiln/kiln.h>

namespace kiln {
namespace {

TEST(Multinomial, FrequenciesFollowTheWeights) {
  manual_seed(21);
  const std::vector<float> w = {1, 0, 3, 6, 0.5f, 9.5f};  // sum 20
  const int64_t draws = 200000;
  Tensor s = multinomial(tensor(w, {6}), draws, true);
  std::vector<int64_t> count(6, 0);
  for (int64_t v : s.to_vector<int64_t>()) ++count[static_cast<size_t>(v)];
  EXPECT_EQ(count[1], 0) << "a zero weight was drawn";
  for (size_t i = 0; i < w.size(); ++i) {
    const double p = w[i] / 20.0;
    const double sd = std::sqrt(draws * p * (1 - p));
    EXPECT_NEAR(static_cast<double>(count[i]), draws * p, 6 * sd + 1) << "category " << i;
  }
}

TEST(Multinomial, WithoutReplacementDrawsDistinctNonZeroCategories) {
  manual_seed(22);
  Tensor w = rand({50, 300}) * (rand({50, 300}) > full({}, 0.5)).to(kFloat32);  // about half zero
  Tensor s = multinomial(w, 100, false);
  const std::vector<int64_t> v = s.to_vector<int64_t>();
  const std::vector<float> wv = w.to_vector<float>();
  for (int64_t r = 0; r < 50; ++r) {
    std::set<int64_t> seen;
    for (int64_t j = 0; j < 100; ++j) {
      const int64_t c = v[r * 100 + j];
      EXPECT_GT(wv[r * 300 + c], 0.0f) << "row " << r;
      EXPECT_TRUE(seen.insert(c).second) << "row " << r << " drew " << c << " twice";
    }
  }
}

// Without replacement, the first draw follows the weights, and a heavy
// category tends to come early.
TEST(Multinomial, WithoutReplacementFirstDrawFollowsTheWeights) {
  manual_seed(23);
  const int64_t rows = 20000;
  Tensor w = tensor(std::vector<float>{1, 2, 7}, {1, 3}).expand({rows, 3}).contiguous();
  std::vector<int64_t> first(3, 0);
  Tensor s = multinomial(w, 3, false);
  const std::vector<int64_t> v = s.to_vector<int64_t>();
  for (int64_t r = 0; r < rows; ++r) ++first[static_cast<size_t>(v[r * 3])];
  for (int i = 0; i < 3; ++i) {
    const double p = std::vector<double>{0.1, 0.2, 0.7}[i];
    EXPECT_NEAR(static_cast<double>(first[i]), rows * p, 6 * std::sqrt(rows * p * (1 - p)) + 1);
  }
}

TEST(Multinomial, SeedRepeatsAndCallsAdvance) {
  Tensor w = rand({4, 30}, kFloat64);
  manual_seed(5);
  Tensor a = multinomial(w, 10, true), b = multinomial(w, 10, true);
  manual_seed(5);
  Tensor c = multinomial(w, 10, true);
  EXPECT_TRUE(equal(a, c));
  EXPECT_FALSE(equal(a, b));
}

}  // namespace
}  // namespace kiln
