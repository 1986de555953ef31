// The transformer layers against the ops they are built from and against
// naive f64 compositions: Embedding, LayerNorm, RMSNorm, MultiheadAttention
// (fused path, weights path, masks, KV cache) and TransformerBlock.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <limits>
#include <sstream>

#include "support/tensor_assert.h"

using namespace kiln;

namespace {

// softmax(q k^T / sqrt(D) + mask) v in f64, mask additive (or undefined).
Tensor naive_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& additive = Tensor()) {
  Tensor q64 = q.to(kFloat64), k64 = k.to(kFloat64), v64 = v.to(kFloat64);
  Tensor s = matmul(q64, k64.transpose(-2, -1)) / std::sqrt(static_cast<double>(q.size(-1)));
  if (additive.defined()) s = s + additive.to(kFloat64);
  return matmul(softmax(s, -1), v64);
}

Tensor causal_additive(int64_t T) {
  return triu(full({T, T}, -std::numeric_limits<double>::infinity(), kFloat64), 1);
}

// MultiheadAttention by hand, f64: x [B, T, E] batch first.
Tensor naive_mha(nn::MultiheadAttentionImpl& m, const Tensor& x, const Tensor& additive = Tensor()) {
  const int64_t B = x.size(0), T = x.size(1), E = m.options.embed_dim(), H = m.options.num_heads(), D = E / H;
  Tensor x64 = x.to(kFloat64);
  Tensor qkv = matmul(x64, m.in_proj_weight.to(kFloat64).t()) + m.in_proj_bias.to(kFloat64);
  auto parts = qkv.chunk(3, -1);
  auto heads = [&](const Tensor& t) { return t.reshape({B, T, H, D}).permute({0, 2, 1, 3}); };
  Tensor y = naive_attention(heads(parts[0]), heads(parts[1]), heads(parts[2]), additive);
  y = y.permute({0, 2, 1, 3}).reshape({B, T, E});
  return matmul(y, m.out_proj->weight.to(kFloat64).t()) + m.out_proj->bias.to(kFloat64);
}

}  // namespace

TEST(Embedding, ForwardIsTheEmbeddingOpAndInitIsStandardNormal) {
  manual_seed(0);
  nn::Embedding emb(300, 40);
  EXPECT_EQ(emb->weight.sizes(), (Shape{300, 40}));
  EXPECT_NEAR(emb->weight.mean().item<double>(), 0.0, 0.02);
  EXPECT_NEAR(emb->weight.std().item<double>(), 1.0, 0.03);
  Tensor ids = tensor(std::vector<int64_t>{3, 0, 299, 3, 17, 5}, {2, 3});
  Tensor y = emb(ids);
  EXPECT_EQ(y.sizes(), (Shape{2, 3, 40}));
  EXPECT_TRUE(equal(y, embedding(emb->weight, ids)));
  EXPECT_TRUE(equal(y.select(0, 0).select(0, 0), emb->weight.select(0, 3)));
}

TEST(Embedding, PaddingRowStartsAtZeroAndGetsNoGradient) {
  nn::Embedding emb(nn::EmbeddingOptions(10, 4).padding_idx(-1));
  EXPECT_EQ(*emb->options.padding_idx(), 9);
  EXPECT_EQ(emb->weight.select(0, 9).abs().sum().item<double>(), 0.0);
  Tensor ids = tensor(std::vector<int64_t>{9, 2, 9, 2}, {4});
  emb(ids).sum().backward();
  Tensor g = emb->weight.grad();
  EXPECT_EQ(g.select(0, 9).abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(allclose(g.select(0, 2), full({4}, 2.0)));
  EXPECT_THROW(nn::Embedding(nn::EmbeddingOptions(10, 4).padding_idx(10)), ValueError);
  EXPECT_THROW(emb(tensor(std::vector<int64_t>{10}, {1})), IndexError);
}

TEST(LayerNorm, MatchesTheOpAndANaiveComposition) {
  manual_seed(1);
  nn::LayerNorm ln(nn::LayerNormOptions({6}).eps(1e-5));
  EXPECT_TRUE(equal(ln->weight, ones({6})));
  EXPECT_TRUE(equal(ln->bias, zeros({6})));
  {
    NoGradGuard no_grad;
    ln->weight.normal_();
    ln->bias.normal_();
  }
  Tensor x = randn({3, 5, 6}) * 3.0 + 1.0;
  Tensor y = ln(x);
  EXPECT_TRUE(equal(y, layer_norm(x, {6}, ln->weight, ln->bias, 1e-5)));
  Tensor x64 = x.to(kFloat64);
  Tensor mean = x64.mean({-1}, true), var = x64.var({-1}, /*correction=*/0, true);
  Tensor ref = (x64 - mean) / (var + 1e-5).sqrt() * ln->weight.to(kFloat64) + ln->bias.to(kFloat64);
  EXPECT_TENSOR_CLOSE(y.to(kFloat64), ref, 1e-5, 1e-5);
}

TEST(LayerNorm, OptionsDropTheAffineTermsAndNormaliseSeveralDims) {
  nn::LayerNorm plain(nn::LayerNormOptions({4, 5}).elementwise_affine(false));
  EXPECT_TRUE(plain->parameters().empty());
  Tensor x = randn({2, 4, 5});
  EXPECT_TRUE(equal(plain(x), layer_norm(x, {4, 5})));
  nn::LayerNorm no_bias(nn::LayerNormOptions({5}).bias(false));
  EXPECT_EQ(no_bias->parameters().size(), 1u);
  EXPECT_FALSE(no_bias->bias.defined());
  EXPECT_THROW(plain(randn({2, 5, 4})), ShapeError);
  EXPECT_THROW(nn::LayerNorm(nn::LayerNormOptions({0})), ValueError);
}

TEST(LayerNorm, GradientsReachWeightAndBias) {
  nn::LayerNorm ln(nn::LayerNormOptions({8}));
  Tensor x = randn({4, 8}).set_requires_grad(true);
  (ln(x) * randn({4, 8})).sum().backward();
  ASSERT_TRUE(ln->weight.grad().defined() && ln->bias.grad().defined() && x.grad().defined());
  EXPECT_GT(ln->weight.grad().abs().sum().item<double>(), 0.0);
}

TEST(RMSNorm, MatchesTheOpAndANaiveComposition) {
  manual_seed(2);
  nn::RMSNorm rms(nn::RMSNormOptions({7}).eps(1e-6));
  {
    NoGradGuard no_grad;
    rms->weight.normal_();
  }
  Tensor x = randn({4, 7});
  Tensor y = rms(x);
  EXPECT_TRUE(equal(y, rms_norm(x, {7}, rms->weight, 1e-6)));
  Tensor x64 = x.to(kFloat64);
  Tensor ref = x64 / ((x64 * x64).mean({-1}, true) + 1e-6).sqrt() * rms->weight.to(kFloat64);
  EXPECT_TENSOR_CLOSE(y.to(kFloat64), ref, 1e-5, 1e-6);
  // The default eps is the dtype's machine epsilon, as the op's.
  nn::RMSNorm dflt(nn::RMSNormOptions({7}));
  EXPECT_TRUE(equal(dflt(x), rms_norm(x, {7}, dflt->weight)));
}

TEST(MultiheadAttention, FusedSelfAttentionMatchesANaiveComposition) {
  manual_seed(3);
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(32, 4).batch_first(true));
  {
    NoGradGuard no_grad;
    attn->in_proj_bias.normal_();
    attn->out_proj->bias.normal_();
  }
  EXPECT_EQ(attn->in_proj_weight.sizes(), (Shape{96, 32}));
  Tensor x = randn({2, 7, 32});
  EXPECT_TENSOR_CLOSE(attn(x).to(kFloat64), naive_mha(*attn, x), 1e-4, 1e-5);
  nn::MultiheadAttention causal(nn::MultiheadAttentionOptions(32, 4).batch_first(true).causal(true));
  EXPECT_TENSOR_CLOSE(causal(x).to(kFloat64), naive_mha(*causal, x, causal_additive(7)), 1e-4, 1e-5);
}

TEST(MultiheadAttention, WeightsPathAgreesWithTheFusedPathAndReturnsProbabilities) {
  manual_seed(4);
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(16, 2));  // LibTorch's [T, B, E]
  Tensor x = randn({5, 3, 16});
  auto [y, w] = attn(x, x, x);
  auto [y_fused, none] = attn(x, x, x, Tensor(), /*need_weights=*/false);
  EXPECT_FALSE(none.defined());
  EXPECT_EQ(y.sizes(), (Shape{5, 3, 16}));
  EXPECT_EQ(w.sizes(), (Shape{3, 5, 5}));
  EXPECT_TENSOR_CLOSE(y, y_fused, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(w.sum({-1}), ones({3, 5}), 1e-5, 1e-6);
  // The one-argument form is the same self-attention without weights.
  EXPECT_TENSOR_CLOSE(attn(x), y, 1e-4, 1e-5);
  auto [y_heads, w_heads] = attn(x, x, x, Tensor(), true, Tensor(), /*average_attn_weights=*/false);
  EXPECT_EQ(w_heads.sizes(), (Shape{3, 2, 5, 5}));
  EXPECT_TENSOR_CLOSE(w_heads.mean({1}), w, 1e-5, 1e-6);
}

TEST(MultiheadAttention, MasksFollowPyTorchsMultiheadAttention) {
  manual_seed(5);
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(16, 4).batch_first(true));
  const int64_t B = 2, T = 6;
  Tensor x = randn({B, T, 16});
  // Bool: true = may not attend. The last two keys of batch 1 are padding.
  Tensor pad = zeros({B, T}, kBool);
  {
    NoGradGuard no_grad;
    pad.select(0, 1).narrow(0, 4, 2).fill_(true);
  }
  Tensor additive = zeros({B, 1, 1, T}, kFloat64).masked_fill(pad.view({B, 1, 1, T}), -INFINITY);
  Tensor ref = naive_mha(*attn, x, additive);
  auto [fused, none] = attn(x, x, x, pad, /*need_weights=*/false);
  auto [unfused, w] = attn(x, x, x, pad, /*need_weights=*/true);
  EXPECT_TENSOR_CLOSE(fused.to(kFloat64), ref, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(unfused.to(kFloat64), ref, 1e-4, 1e-5);
  EXPECT_EQ(w.select(0, 1).narrow(-1, 4, 2).abs().sum().item<double>(), 0.0);
  // A float attn_mask is added; with the causal flag both apply.
  Tensor bias = randn({T, T});
  Tensor both = bias.to(kFloat64) + causal_additive(T);
  auto [masked, w2] = attn(x, x, x, Tensor(), false, bias, true, /*is_causal=*/true);
  EXPECT_TENSOR_CLOSE(masked.to(kFloat64), naive_mha(*attn, x, both), 1e-4, 1e-5);
  // Per-head masks [B*H, Tq, Tk].
  Tensor per_head = randn({B * 4, T, T});
  auto [y3, w3] = attn(x, x, x, Tensor(), true, per_head);
  EXPECT_TENSOR_CLOSE(y3.to(kFloat64), naive_mha(*attn, x, per_head.view({B, 4, T, T})), 1e-4, 1e-5);
  EXPECT_THROW(attn(x, x, x, Tensor(), false, randn({T, T + 1})), ShapeError);
  EXPECT_THROW(attn(x, x, x, zeros({B, T + 1}, kBool)), ShapeError);
}

TEST(MultiheadAttention, CrossAttentionProjectsQueryKeyAndValueWithTheirRows) {
  manual_seed(6);
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(8, 2).batch_first(true));
  Tensor q = randn({2, 3, 8}), kv = randn({2, 5, 8}), v = randn({2, 5, 8});
  auto [y, w] = attn(q, kv, v);
  EXPECT_EQ(y.sizes(), (Shape{2, 3, 8}));
  EXPECT_EQ(w.sizes(), (Shape{2, 3, 5}));
  // By hand: rows [0, E) project the query, [E, 2E) the key, [2E, 3E) the value.
  Tensor W = attn->in_proj_weight.to(kFloat64), b = attn->in_proj_bias.to(kFloat64);
  auto proj = [&](const Tensor& t, int64_t part) {
    Tensor p = matmul(t.to(kFloat64), W.narrow(0, 8 * part, 8).t()) + b.narrow(0, 8 * part, 8);
    return p.reshape({2, -1, 2, 4}).permute({0, 2, 1, 3});
  };
  Tensor o = naive_attention(proj(q, 0), proj(kv, 1), proj(v, 2)).permute({0, 2, 1, 3}).reshape({2, 3, 8});
  Tensor ref = matmul(o, attn->out_proj->weight.to(kFloat64).t()) + attn->out_proj->bias.to(kFloat64);
  EXPECT_TENSOR_CLOSE(y.to(kFloat64), ref, 1e-4, 1e-5);
  auto [y_same_kv, w2] = attn(q, kv, kv, Tensor(), false);
  EXPECT_EQ(y_same_kv.sizes(), (Shape{2, 3, 8}));
}

TEST(MultiheadAttention, GradientsFlowThroughTheFusedPath) {
  manual_seed(7);
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(16, 2).batch_first(true).causal(true));
  Tensor x = randn({2, 5, 16}).set_requires_grad(true);
  Tensor g = randn({2, 5, 16});
  (attn(x) * g).sum().backward();
  Tensor fused_grad = attn->in_proj_weight.grad().clone();
  Tensor x_grad = x.grad().clone();
  attn->zero_grad();
  x.set_grad(Tensor());
  auto [y, w] = attn(x, x, x, Tensor(), true, Tensor(), true, true);
  (y * g).sum().backward();
  EXPECT_TENSOR_CLOSE(attn->in_proj_weight.grad(), fused_grad, 1e-4, 1e-5);
  EXPECT_TENSOR_CLOSE(x.grad(), x_grad, 1e-4, 1e-5);
}

TEST(MultiheadAttention, KVCacheGivesTheOutputsOfTheWholeSequence) {
  manual_seed(8);
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(24, 3).batch_first(true).causal(true));
  Tensor x = randn({2, 40, 24});
  Tensor full = attn(x);
  nn::KVCache cache;
  // A chunk of 5, then single positions, then a chunk of 7 after cached ones
  // (the bottom-right aligned causal mask), past the first capacity (16).
  std::vector<Tensor> pieces{attn->forward_cached(x.narrow(1, 0, 5), cache)};
  for (int64_t t = 5; t < 33; ++t) pieces.push_back(attn->forward_cached(x.narrow(1, t, 1), cache));
  pieces.push_back(attn->forward_cached(x.narrow(1, 33, 7), cache));
  EXPECT_EQ(cache.length(), 40);
  EXPECT_GE(cache.capacity(), 40);
  EXPECT_EQ(cache.keys().sizes(), (Shape{2, 3, 40, 8}));
  EXPECT_TENSOR_CLOSE(cat(pieces, 1), full, 1e-4, 1e-5);
  cache.reset();
  EXPECT_EQ(cache.length(), 0);
  EXPECT_TENSOR_CLOSE(attn->forward_cached(x.narrow(1, 0, 3), cache), full.narrow(1, 0, 3), 1e-4, 1e-5);
  EXPECT_THROW(attn->forward_cached(randn({3, 1, 24}), cache), ShapeError);  // another batch size
}

TEST(MultiheadAttention, RejectsBadShapesAndOptions) {
  EXPECT_THROW(nn::MultiheadAttention(10, 3), ValueError);
  EXPECT_THROW(nn::MultiheadAttention(nn::MultiheadAttentionOptions(8, 2).dropout(1.0)), ValueError);
  nn::MultiheadAttention attn(8, 2);
  EXPECT_THROW(attn(randn({3, 2, 9})), ShapeError);
  EXPECT_THROW(attn(randn({3, 2, 8}), randn({4, 5, 8}), randn({4, 5, 8})), ShapeError);
}

TEST(MultiheadAttention, DropoutActsOnlyInTraining) {
  nn::MultiheadAttention attn(nn::MultiheadAttentionOptions(16, 2).batch_first(true).dropout(0.5));
  Tensor x = randn({2, 6, 16});
  manual_seed(9);
  Tensor a = attn(x);
  manual_seed(10);
  Tensor b = attn(x);
  EXPECT_FALSE(allclose(a, b));
  attn->eval();
  EXPECT_TRUE(equal(attn(x), attn(x)));
}

TEST(TransformerBlock, IsPreNormAttentionThenGeluTanhMlp) {
  manual_seed(11);
  nn::TransformerBlock block(nn::TransformerBlockOptions(16, 2));
  EXPECT_EQ(block->fc->weight.sizes(), (Shape{64, 16}));
  EXPECT_EQ(block->proj->weight.sizes(), (Shape{16, 64}));
  Tensor x = randn({2, 9, 16});
  Tensor h = x + block->attn->forward(block->ln_1(x));
  Tensor ref = h + block->proj(gelu(block->fc(block->ln_2(h)), "tanh"));
  EXPECT_TRUE(allclose(block(x), ref, 1e-6, 1e-6));
  // Causal: the first positions do not depend on the later ones.
  Tensor y = block(x), y_short = block(x.narrow(1, 0, 4));
  EXPECT_TENSOR_CLOSE(y.narrow(1, 0, 4), y_short, 1e-5, 1e-6);
  std::ostringstream os;
  os << block;
  EXPECT_NE(os.str().find("MultiheadAttention(embed_dim=16, num_heads=2"), std::string::npos) << os.str();
}

TEST(TransformerBlock, CachedForwardMatchesTheWholeSequence) {
  manual_seed(12);
  nn::TransformerBlock block(nn::TransformerBlockOptions(16, 4).dim_feedforward(40));
  Tensor x = randn({1, 12, 16});
  nn::KVCache cache;
  Tensor a = block->forward_cached(x.narrow(1, 0, 8), cache);
  Tensor b = block->forward_cached(x.narrow(1, 8, 4), cache);
  EXPECT_TENSOR_CLOSE(cat({a, b}, 1), block(x), 1e-4, 1e-5);
}
