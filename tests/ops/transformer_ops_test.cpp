// What the op table cannot say about the transformer primitives: the
// embedding gradient with padding_idx (the padding row is read by the
// forward but gets no gradient, so gradcheck does not apply there), and
// layer norm's f32 statistics for 16-bit inputs.
#include <gtest/gtest.h>

#include <vector>

#include <kiln/kiln.h>

namespace kiln {
namespace {

// grad_weight[v] = sum of the output-gradient rows whose id is v; the
// padding row (given as 3 or as -7 of 10) gets nothing.
TEST(EmbeddingGrad, ScatterAddsRowsAndSkipsPadding) {
  const std::vector<int64_t> ids = {1, 3, 3, 0, 9, 1, 3};
  for (int64_t pad : {int64_t{3}, int64_t{-7}}) {
    Tensor w = randn({10, 4}, kFloat64).requires_grad_();
    Tensor g = randn({7, 4}, kFloat64);
    Tensor out = embedding(w, tensor(ids), pad);
    Tensor gw = autograd::grad({sum(out * g)}, {w})[0];
    std::vector<double> want(40, 0.0);
    const std::vector<double> gv = g.to_vector<double>();
    for (size_t n = 0; n < ids.size(); ++n)
      if (ids[n] != 3)
        for (int c = 0; c < 4; ++c) want[ids[n] * 4 + c] += gv[n * 4 + c];
    const std::vector<double> got = gw.to_vector<double>();
    for (size_t i = 0; i < want.size(); ++i) EXPECT_DOUBLE_EQ(got[i], want[i]) << "element " << i << " pad " << pad;
    // The forward still reads the padding row.
    EXPECT_TRUE(equal(out.select(0, 1), w.detach().select(0, 3)));
  }
}

// A bf16 row whose mean is large against its spread: statistics in bf16
// would lose the spread entirely; in f32 the output is the normalised row.
TEST(LayerNormPrecision, SixteenBitInputsUseF32Statistics) {
  std::vector<float> v;
  for (int i = 0; i < 256; ++i) v.push_back(64.0f + 0.5f * static_cast<float>(i % 2));  // 64, 64.5: exact in bf16
  Tensor x = tensor(v, {1, 256}).to(kBFloat16);
  Tensor y = layer_norm(x, {256}).to(kFloat32);
  const std::vector<float> yv = y.to_vector<float>();
  for (int i = 0; i < 256; ++i) EXPECT_NEAR(yv[i], i % 2 ? 1.0f : -1.0f, 2e-2f) << i;
}

}  // namespace
}  // namespace kiln
