// nn::GPT: shapes, parameter count (GPT-2 124M), initialisation, weight
// decay groups, KV-cache equivalence, generation and the Hugging Face names.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <set>

#include "support/tensor_assert.h"

using namespace kiln;

namespace {

nn::GPTConfig small_config() { return nn::GPTConfig().vocab_size(61).block_size(24).n_layer(3).n_head(2).n_embd(16); }

Tensor random_ids(int64_t vocab, Shape shape) { return randint(0, vocab, shape); }

}  // namespace

TEST(GPT, ForwardGivesLogitsOfEveryPosition) {
  manual_seed(0);
  nn::GPT model(small_config());
  EXPECT_EQ(model(random_ids(61, {3, 10})).sizes(), (Shape{3, 10, 61}));
  EXPECT_EQ(model(random_ids(61, {24})).sizes(), (Shape{24, 61}));
  EXPECT_EQ(model(random_ids(61, {1, 1})).sizes(), (Shape{1, 1, 61}));
  EXPECT_EQ(model->h->size(), 3u);
}

TEST(GPT, RejectsIdsItCannotEmbed) {
  nn::GPT model(small_config());
  EXPECT_THROW(model(random_ids(61, {2, 25})), ShapeError);  // longer than block_size
  EXPECT_THROW(model(randn({2, 4})), ValueError);            // not ids
  EXPECT_THROW(model(random_ids(61, {2, 2, 2})), ValueError);
  EXPECT_THROW(model(tensor(std::vector<int64_t>{61}, {1, 1})), IndexError);
  EXPECT_THROW(nn::GPT(nn::GPTConfig::tiny().n_embd(30).n_head(4)), ValueError);
}

TEST(GPT, TinyPresetCountsAsTheFormulaSays) {
  const auto c = nn::GPTConfig::tiny();
  nn::GPT model(c);
  const int64_t C = c.n_embd(), L = c.n_layer();
  const int64_t per_block = 2 * 2 * C + (3 * C * C + 3 * C) + (C * C + C) + (4 * C * C + 4 * C) + (4 * C * C + C);
  EXPECT_EQ(nn::parameter_count(*model), c.vocab_size() * C + c.block_size() * C + L * per_block + 2 * C);
}

TEST(GPT, InitialisationIsGpt2s) {
  manual_seed(1);
  const auto c = nn::GPTConfig().vocab_size(512).block_size(128).n_layer(8).n_head(4).n_embd(128);
  nn::GPT model(c);
  EXPECT_NEAR(model->wte->weight.std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(model->wpe->weight.std().item<double>(), 0.02, 0.001);
  auto& b = model->block(3);
  EXPECT_NEAR(b.attn->in_proj_weight.std().item<double>(), 0.02, 0.001);
  EXPECT_NEAR(b.fc->weight.std().item<double>(), 0.02, 0.001);
  const double residual = 0.02 / std::sqrt(2.0 * 8);
  EXPECT_NEAR(b.attn->out_proj->weight.std().item<double>(), residual, 0.1 * residual);
  EXPECT_NEAR(b.proj->weight.std().item<double>(), residual, 0.1 * residual);
  EXPECT_EQ(b.fc->bias.abs().sum().item<double>(), 0.0);
  EXPECT_EQ(b.attn->in_proj_bias.abs().sum().item<double>(), 0.0);
  EXPECT_TRUE(equal(model->ln_f->weight, ones({128})));
}

TEST(GPT, WeightDecayGoesToMatricesOnly) {
  nn::GPT model(small_config());
  auto [decay, no_decay] = model->parameters_for_weight_decay();
  int64_t n_decay = 0, n_rest = 0;
  for (const Tensor& t : decay) {
    EXPECT_GE(t.dim(), 2);
    n_decay += t.numel();
  }
  for (const Tensor& t : no_decay) {
    EXPECT_EQ(t.dim(), 1);
    n_rest += t.numel();
  }
  EXPECT_EQ(decay.size(), 2u + 3u * 4u);  // wte, wpe and four matrices per block
  EXPECT_EQ(n_decay + n_rest, nn::parameter_count(*model));
  // The groups an AdamW takes: its state_dict records both.
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(1e-3).weight_decay(0.1)));
  groups.emplace_back(no_decay, std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(1e-3).weight_decay(0.0)));
  optim::AdamW opt(std::move(groups), optim::AdamWOptions(1e-3));
  EXPECT_EQ(opt.param_groups()[0].options().to_map().at("weight_decay"), 0.1);
  EXPECT_EQ(opt.param_groups()[1].options().to_map().at("weight_decay"), 0.0);
}

TEST(GPT, CachedLogitsEqualTheUncachedForward) {
  manual_seed(2);
  nn::GPT model(small_config());
  model->eval();
  Tensor ids = random_ids(61, {2, 24});
  Tensor full = model(ids);
  nn::GPTCache cache = model->make_cache();
  std::vector<Tensor> pieces{model->forward_cached(ids.narrow(1, 0, 6), cache)};
  for (int64_t t = 6; t < 24; ++t) pieces.push_back(model->forward_cached(ids.narrow(1, t, 1), cache));
  EXPECT_EQ(cache.length(), 24);
  EXPECT_TENSOR_CLOSE(cat(pieces, 1), full, 1e-4, 1e-5);
  EXPECT_THROW(model->forward_cached(ids.narrow(1, 0, 1), cache), ShapeError);  // past block_size
}

TEST(GPT, GenerateWithTheCacheMatchesAnUncachedGreedyLoop) {
  manual_seed(3);
  nn::GPT model(small_config());
  Tensor prompt = random_ids(61, {2, 5});
  Tensor out = model->generate(prompt, 15, {/*temperature=*/0.0});
  ASSERT_EQ(out.sizes(), (Shape{2, 20}));
  EXPECT_TRUE(equal(out.narrow(1, 0, 5), prompt));
  EXPECT_TRUE(model->is_training());  // the mode is put back
  model->eval();
  Tensor seq = prompt;
  for (int i = 0; i < 15; ++i) {
    NoGradGuard no_grad;
    Tensor logits = model(seq);
    seq = cat({seq, logits.select(1, seq.size(1) - 1).argmax(-1, true)}, 1);
  }
  EXPECT_TRUE(equal(out, seq));
}

TEST(GPT, SeededSamplingRepeatsAndLeavesTheDefaultGeneratorAlone) {
  manual_seed(4);
  nn::GPT model(small_config());
  Tensor prompt = random_ids(61, {7});
  const GeneratorState before = get_rng_state();
  Tensor a = model->generate(prompt, 12, {1.0, 0, 1.0, /*seed=*/99});
  const GeneratorState after = get_rng_state();
  EXPECT_EQ(after.seed, before.seed);
  EXPECT_EQ(after.offset, before.offset);
  Tensor b = model->generate(prompt, 12, {1.0, 0, 1.0, 99});
  Tensor c = model->generate(prompt, 12, {1.0, 0, 1.0, 100});
  EXPECT_EQ(a.sizes(), (Shape{19}));
  EXPECT_TRUE(equal(a, b));
  EXPECT_FALSE(equal(a, c));
}

TEST(GPT, TopKOneAndATinyTopPAreGreedy) {
  manual_seed(5);
  nn::GPT model(small_config());
  Tensor prompt = random_ids(61, {3, 4});
  Tensor greedy = model->generate(prompt, 10, {0.0});
  EXPECT_TRUE(equal(model->generate(prompt, 10, {1.0, /*top_k=*/1, 1.0, 7}), greedy));
  EXPECT_TRUE(equal(model->generate(prompt, 10, {1.0, 0, /*top_p=*/1e-6, 7}), greedy));
  // top_k = 5 samples only among the five most likely tokens.
  model->eval();
  nn::GPTCache cache = model->make_cache();
  Tensor logits = model->forward_cached(prompt, cache).select(1, 3);
  auto [top, top_ids] = topk(logits, 5, -1);
  for (int seed = 0; seed < 20; ++seed) {
    Tensor next = model->generate(prompt, 1, {1.0, 5, 1.0, static_cast<uint64_t>(seed)}).select(1, 4);
    for (int64_t r = 0; r < 3; ++r)
      EXPECT_EQ(top_ids.select(0, r).eq(next.select(0, r)).to(kInt64).sum().item<int64_t>(), 1) << "seed " << seed << " row " << r;
  }
  EXPECT_THROW(model->generate(prompt, 1, {-1.0}), ValueError);
  EXPECT_THROW(model->generate(prompt, 1, {1.0, 0, 0.0}), ValueError);
}

TEST(GPT, GenerateGoesOnPastTheContextWindow) {
  manual_seed(6);
  nn::GPT model(small_config());  // block_size 24
  Tensor out = model->generate(random_ids(61, {1, 30}), 40, {0.8, 10});
  EXPECT_EQ(out.sizes(), (Shape{1, 70}));
  EXPECT_GE(out.min().item<int64_t>(), 0);
  EXPECT_LT(out.max().item<int64_t>(), 61);
}

TEST(GPT, Gpt2NamesRoundTripAndTransposeConv1D) {
  manual_seed(7);
  nn::GPT a(small_config());
  const StateDict hf = a->gpt2_state_dict();
  EXPECT_EQ(hf.at("transformer.h.1.attn.c_attn.weight").sizes(), (Shape{16, 48}));  // Conv1D: [in, out]
  EXPECT_EQ(hf.at("transformer.h.1.mlp.c_proj.weight").sizes(), (Shape{64, 16}));
  EXPECT_EQ(hf.count("lm_head.weight"), 0u);
  nn::GPT b(small_config());
  b->load_gpt2_state_dict(hf);
  Tensor ids = random_ids(61, {2, 9});
  EXPECT_TRUE(equal(a(ids), b(ids)));
  const nn::GPTConfig inferred = nn::GPTConfig::from_gpt2_state_dict(hf, 2);
  EXPECT_EQ(inferred.n_layer(), 3);
  EXPECT_EQ(inferred.vocab_size(), 61);
  EXPECT_EQ(inferred.block_size(), 24);
  EXPECT_EQ(inferred.n_embd(), 16);
}

TEST(GPT, Gpt2LoadReportsEveryProblemAndCopiesNothing) {
  nn::GPT a(small_config());
  StateDict hf = a->gpt2_state_dict();
  hf.erase("transformer.h.2.ln_2.bias");
  hf["transformer.h.0.attn.c_attn.weight"] = randn({48, 16});  // not transposed
  hf["transformer.extra"] = zeros({1});
  hf["transformer.h.0.attn.bias"] = ones({1, 1, 24, 24});  // a mask buffer: ignored
  nn::GPT b(small_config());
  const Tensor before = b->wte->weight.clone();
  try {
    b->load_gpt2_state_dict(hf);
    FAIL() << "no error";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("missing transformer.h.2.ln_2.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("transformer.h.0.attn.c_attn.weight is [48, 16], expected [16, 48]"), std::string::npos) << msg;
    EXPECT_NE(msg.find("unexpected transformer.extra"), std::string::npos) << msg;
    EXPECT_EQ(msg.find("attn.bias"), std::string::npos) << msg;
  }
  EXPECT_TRUE(equal(b->wte->weight, before));
}

TEST(GPT, CloneCopiesTheWeights) {
  nn::GPT a(small_config());
  auto copy = std::dynamic_pointer_cast<nn::GPTImpl>(a->clone());
  ASSERT_TRUE(copy);
  Tensor ids = random_ids(61, {1, 8});
  EXPECT_TRUE(equal(a(ids), copy->forward(ids)));
  EXPECT_FALSE(copy->wte->weight.shares_storage(a->wte->weight));
}
