// scaled_dot_product_attention against kiln's own unfused composition
// (matmul, softmax, matmul) forward and backward, its dropout (the exact
// mask of rand(), and its statistics), the CPU backward's two ways of
// splitting work over threads, and the layouts it reads and writes: views of
// a fused projection in place, out and gradients in their operands' order. The op-table row (rows_attention.cpp)
// checks it against a float64 reference and through gradcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include <kiln/kiln.h>

#include "autograd/node.h"  // grad_fn()->apply: the layout of the node's own gradients

namespace kiln {
namespace {

struct Case {
  int64_t B, H, Tq, Tk, D;
  bool causal;
  std::string mask;  // "", "bool", "float"
};

std::string name_of(const Case& c) {
  return "B" + std::to_string(c.B) + "_H" + std::to_string(c.H) + "_Tq" + std::to_string(c.Tq) + "_Tk" +
         std::to_string(c.Tk) + "_D" + std::to_string(c.D) + (c.causal ? "_causal" : "") +
         (c.mask.empty() ? "" : "_" + c.mask + "mask");
}

// A mask over [Tq, Tk] in which every query keeps key 0 (so the unfused
// softmax never sees a row of -inf).
Tensor make_mask(const Case& c) {
  std::vector<uint8_t> keep_v;
  std::vector<float> bias_v;
  for (int64_t i = 0; i < c.Tq; ++i)
    for (int64_t j = 0; j < c.Tk; ++j) {
      const bool keep = j == 0 || (i * 3 + j * 5) % 4 != 0;
      keep_v.push_back(keep);
      // Additive: -inf where not kept, a smooth bias elsewhere.
      bias_v.push_back(keep ? 0.05f * static_cast<float>(i - j) : -std::numeric_limits<float>::infinity());
    }
  if (c.mask == "bool") return tensor(keep_v, {c.Tq, c.Tk}).to(kBool);
  return tensor(bias_v, {c.Tq, c.Tk});
}

// The composition every framework writes first.
Tensor unfused(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask, bool causal,
               const Tensor& drop_keep = Tensor(), double p = 0) {
  const int64_t D = q.size(-1), Tq = q.size(-2), Tk = k.size(-2);
  Tensor s = matmul(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(static_cast<double>(D)));
  if (causal) s = masked_fill(s, triu(ones({Tq, Tk}, kBool), 1), -std::numeric_limits<double>::infinity());
  if (mask.defined())
    s = mask.dtype() == kBool ? where(mask, s, full({}, -std::numeric_limits<double>::infinity())) : s + mask.to(s.dtype());
  Tensor probs = softmax(s, -1);
  if (drop_keep.defined()) probs = probs * drop_keep.to(probs.dtype()) * (1.0 / (1.0 - p));
  return matmul(probs, v);
}

class AttentionVsUnfused : public ::testing::TestWithParam<Case> {};

TEST_P(AttentionVsUnfused, ForwardAndGradientsMatch) {
  const Case c = GetParam();
  manual_seed(7);
  Tensor q = randn({c.B, c.H, c.Tq, c.D}).requires_grad_();
  Tensor k = randn({c.B, c.H, c.Tk, c.D}).requires_grad_();
  Tensor v = randn({c.B, c.H, c.Tk, c.D}).requires_grad_();
  Tensor mask = c.mask.empty() ? Tensor() : make_mask(c);
  Tensor fused = scaled_dot_product_attention(q, k, v, mask, 0.0, c.causal);
  Tensor plain = unfused(q, k, v, mask, c.causal);
  ASSERT_EQ(fused.sizes(), plain.sizes());
  EXPECT_TRUE(allclose(fused, plain, 1e-4, 1e-5)) << "max diff " << amax(abs(fused - plain)).item<float>();
  Tensor w = randn(fused.sizes());
  std::vector<Tensor> gf = autograd::grad({sum(fused * w)}, {q, k, v});
  std::vector<Tensor> gu = autograd::grad({sum(plain * w)}, {q, k, v});
  const char* names[] = {"dq", "dk", "dv"};
  for (int i = 0; i < 3; ++i)
    EXPECT_TRUE(allclose(gf[i], gu[i], 1e-3, 1e-4))
        << names[i] << " max diff " << amax(abs(gf[i] - gu[i])).item<float>();
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (int64_t D : {32, 64, 128})
    for (bool causal : {false, true})
      for (int64_t T : {1, 17, 64, 65, 130}) out.push_back({2, 2, T, T, D, causal, ""});
  for (const char* mask : {"bool", "float"}) {
    out.push_back({2, 3, 33, 47, 64, false, mask});
    out.push_back({1, 2, 129, 200, 32, false, mask});
    out.push_back({1, 1, 65, 65, 128, false, mask});
  }
  out.push_back({1, 2, 70, 150, 64, true, ""});  // causal cross attention (Tq < Tk)
  out.push_back({1, 2, 150, 70, 64, true, ""});  // and Tq > Tk
  return out;
}

INSTANTIATE_TEST_SUITE_P(Cpu, AttentionVsUnfused, ::testing::ValuesIn(cases()),
                         [](const ::testing::TestParamInfo<Case>& info) { return name_of(info.param); });

// The dropout mask is the one rand() draws for a float32 [B, H, Tq, Tk]
// tensor from the same generator state, so the unfused composition with
// that mask matches exactly, forward and backward.
TEST(AttentionDropout, MaskIsRandOfTheScoresShape) {
  const int64_t B = 2, H = 2, Tq = 37, Tk = 70, D = 16;
  const double p = 0.3;
  manual_seed(11);
  Tensor q = randn({B, H, Tq, D}).requires_grad_(), k = randn({B, H, Tk, D}).requires_grad_();
  Tensor v = randn({B, H, Tk, D}).requires_grad_();
  for (bool causal : {false, true}) {
    manual_seed(99);
    Tensor fused = scaled_dot_product_attention(q, k, v, Tensor(), p, causal);
    manual_seed(99);
    Tensor keep = rand({B, H, Tq, Tk}) >= full({}, p);
    Tensor plain = unfused(q, k, v, Tensor(), causal, keep, p);
    EXPECT_TRUE(allclose(fused, plain, 1e-4, 1e-5)) << "causal " << causal;
    Tensor w = randn(fused.sizes());
    std::vector<Tensor> gf = autograd::grad({sum(fused * w)}, {q, k, v});
    std::vector<Tensor> gu = autograd::grad({sum(plain * w)}, {q, k, v});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(allclose(gf[i], gu[i], 1e-3, 1e-4)) << "gradient " << i;
  }
}

// With q = k = 0 every probability is 1/Tk; with v = identity the output is
// the dropped probability matrix itself: zeros with frequency p, the rest
// 1/(Tk (1 - p)).
TEST(AttentionDropout, DropsWithProbabilityPAndScalesTheRest) {
  const int64_t Tq = 400, Tk = 250;
  const double p = 0.2;
  Tensor q = zeros({1, 1, Tq, 8}), k = zeros({1, 1, Tk, 8});
  Tensor v = eye(Tk).reshape({1, 1, Tk, Tk});
  manual_seed(5);
  Tensor out = scaled_dot_product_attention(q, k, v, Tensor(), p);
  const double kept_value = 1.0 / (Tk * (1 - p));
  Tensor zero = out == full({}, 0.0);
  Tensor kept = abs(out - kept_value) < full({}, 1e-6);
  const double n = static_cast<double>(Tq * Tk);
  EXPECT_EQ(sum(zero.to(kInt64)).item<int64_t>() + sum(kept.to(kInt64)).item<int64_t>(), Tq * Tk)
      << "every output is 0 or 1/(Tk (1-p))";
  const double dropped = sum(zero.to(kFloat64)).item<double>() / n;
  // 6 standard deviations of a binomial proportion: fails by chance ~1e-9.
  EXPECT_NEAR(dropped, p, 6 * std::sqrt(p * (1 - p) / n));
  // Rows are independent draws: the row means of the kept fraction vary.
  Tensor row_kept = mean(kept.to(kFloat64).reshape({Tq, Tk}), {1});
  EXPECT_GT(amax(row_kept).item<double>(), amin(row_kept).item<double>());
  // Two calls draw different masks; reseeding repeats one.
  Tensor again = scaled_dot_product_attention(q, k, v, Tensor(), p);
  EXPECT_FALSE(equal(out, again));
  manual_seed(5);
  EXPECT_TRUE(equal(out, scaled_dot_product_attention(q, k, v, Tensor(), p)));
}

// One (b, h) pair and enough work for the thread pool: the CPU backward
// splits over key tiles (dK, dV) and query tiles (dQ) instead of over (b, h).
TEST(AttentionCpuBackward, FewHeadsManyTilesMatchesUnfused) {
  manual_seed(3);
  for (bool causal : {false, true}) {
    Tensor q = randn({1, 1, 300, 16}).requires_grad_(), k = randn({1, 1, 290, 16}).requires_grad_();
    Tensor v = randn({1, 1, 290, 16}).requires_grad_();
    Tensor fused = scaled_dot_product_attention(q, k, v, Tensor(), 0.0, causal);
    Tensor plain = unfused(q, k, v, Tensor(), causal);
    EXPECT_TRUE(allclose(fused, plain, 1e-4, 1e-5));
    Tensor w = randn(fused.sizes());
    std::vector<Tensor> gf = autograd::grad({sum(fused * w)}, {q, k, v});
    std::vector<Tensor> gu = autograd::grad({sum(plain * w)}, {q, k, v});
    for (int i = 0; i < 3; ++i) EXPECT_TRUE(allclose(gf[i], gu[i], 1e-3, 1e-4)) << "gradient " << i;
  }
}

// bf16 and f16 inputs compute in f32 on the CPU: within rounding of the
// f32 result.
TEST(AttentionLowPrecision, HalfTypesFollowTheF32Result) {
  manual_seed(4);
  Tensor q = randn({2, 2, 65, 64}), k = randn({2, 2, 65, 64}), v = randn({2, 2, 65, 64});
  Tensor ref = scaled_dot_product_attention(q, k, v, Tensor(), 0.0, true);
  for (DType t : {kBFloat16, kFloat16}) {
    Tensor out = scaled_dot_product_attention(q.to(t), k.to(t), v.to(t), Tensor(), 0.0, true);
    EXPECT_EQ(out.dtype(), t);
    EXPECT_TRUE(allclose(out.to(kFloat32), ref, t == kBFloat16 ? 3e-2 : 4e-3, t == kBFloat16 ? 3e-2 : 4e-3));
  }
}

// q, k, v as the [B, H, T, D] views of one [B, T, 3 * H * D] projection
// (how MultiheadAttention splits its heads): read in place, with results
// equal bit for bit to those of contiguous copies; out's memory is [B, T,
// H, D], so merging the heads back is a view; and the projection's
// gradient equals the contiguous path's.
TEST(AttentionLayout, ViewsOfAFusedProjectionReadInPlace) {
  manual_seed(5);
  const int64_t B = 2, T = 70, H = 3, D = 16;
  for (bool causal : {false, true}) {
    Tensor qkv = randn({B, T, 3 * H * D}).requires_grad_();
    auto heads = [&](const Tensor& x, int i) { return x.narrow(2, i * H * D, H * D).view({B, T, H, D}).transpose(1, 2); };
    Tensor out = scaled_dot_product_attention(heads(qkv, 0), heads(qkv, 1), heads(qkv, 2), Tensor(), 0.0, causal);
    EXPECT_TRUE(out.transpose(1, 2).is_contiguous()) << "out is [B, T, H, D] in memory";
    Tensor copy = qkv.detach().clone().requires_grad_();
    Tensor ref = scaled_dot_product_attention(heads(copy, 0).contiguous(), heads(copy, 1).contiguous(),
                                              heads(copy, 2).contiguous(), Tensor(), 0.0, causal);
    EXPECT_TRUE(ref.is_contiguous()) << "contiguous operands keep a contiguous out";
    EXPECT_TRUE(equal(out, ref));
    Tensor w = randn(out.sizes());
    sum(out * w).backward();
    sum(ref * w).backward();
    EXPECT_TRUE(equal(qkv.grad(), copy.grad()));
  }
}

// The gradients follow their operands' layout: [B, T, H, D] memory for a
// view with heads inside time steps, contiguous for contiguous operands;
// values as the unfused composition's either way.
TEST(AttentionLayout, GradientsFollowTheirOperandsOrder) {
  manual_seed(6);
  Tensor q = randn({2, 40, 4, 8}).requires_grad_(), k = randn({2, 40, 4, 8}).requires_grad_();
  Tensor v = randn({2, 4, 40, 8}).requires_grad_();  // already [B, H, T, D]
  Tensor out = scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v, Tensor(), 0.0, true);
  Tensor plain = unfused(q.transpose(1, 2), k.transpose(1, 2), v, Tensor(), true);
  EXPECT_TRUE(allclose(out, plain, 1e-4, 1e-5));
  Tensor w = randn(out.sizes());
  ASSERT_NE(out.grad_fn(), nullptr);
  std::vector<Tensor> direct = out.grad_fn()->apply(w);  // the node's own outputs, before any view's backward
  std::vector<Tensor> gf = autograd::grad({sum(out * w)}, {q, k, v});
  std::vector<Tensor> gu = autograd::grad({sum(plain * w)}, {q, k, v});
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(allclose(gf[i], gu[i], 1e-3, 1e-4)) << "gradient " << i;
  EXPECT_TRUE(direct[0].transpose(1, 2).is_contiguous()) << "q's gradient is [B, T, H, D] in memory";
  EXPECT_TRUE(direct[1].transpose(1, 2).is_contiguous()) << "k's gradient is [B, T, H, D] in memory";
  EXPECT_TRUE(direct[2].is_contiguous()) << "v's gradient is contiguous, as v";
}

// Operands whose rows are not contiguous (a transposed last dim, rows
// broadcast over time) are copied first; the output, fresh memory of its
// own, takes in-place writes as any new tensor does (no view's refusal).
TEST(AttentionLayout, OtherLayoutsAreCopiedAndTheOutputIsItsOwn) {
  manual_seed(7);
  Tensor q = randn({1, 2, 16, 24}).transpose(2, 3).requires_grad_();  // [1, 2, 24, 16], rows strided
  Tensor k = randn({1, 2, 1, 16}).expand({1, 2, 24, 16});                // rows 0 apart
  Tensor v = randn({1, 24, 2, 16}).transpose(1, 2);
  Tensor out = scaled_dot_product_attention(q, k, v);
  EXPECT_TRUE(allclose(out, unfused(q, k, v, Tensor(), false), 1e-4, 1e-5));
  Tensor y = out * 1.0;
  Tensor z = scaled_dot_product_attention(q, k, v);
  EXPECT_NO_THROW(z.add_(1.0));
  EXPECT_TRUE(allclose(z, y + 1.0, 1e-6, 1e-6));
  // The backward needs the output it saved, as PyTorch's does.
  EXPECT_THROW(sum(z).backward(), Error);
  sum(y).backward();
  EXPECT_TRUE(q.grad().defined());
}

}  // namespace
}  // namespace kiln
