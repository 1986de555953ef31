// nn::GPT loads a GPT2LMHeadModel that Hugging Face transformers saved
// (tests/data/gpt2_tiny, written by tools/make-gpt2-fixture.py) and gives
// the logits transformers computed for the same ids.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <string>

#include "support/tensor_assert.h"

using namespace kiln;

namespace {

std::string fixture(const std::string& file) { return std::string(KILN_SOURCE_DIR) + "/tests/data/gpt2_tiny/" + file; }

}  // namespace

TEST(GPT2HuggingFace, LogitsMatchTransformers) {
  const auto hf = io::load_safetensors(fixture("model.safetensors")).tensors;
  const auto expected = io::load_safetensors(fixture("logits.safetensors")).tensors;
  const nn::GPTConfig config = nn::GPTConfig::from_gpt2_state_dict(hf, /*n_head=*/4);
  EXPECT_EQ(config.vocab_size(), 97);
  EXPECT_EQ(config.block_size(), 32);
  EXPECT_EQ(config.n_layer(), 2);
  EXPECT_EQ(config.n_embd(), 32);
  nn::GPT model(config);
  model->load_gpt2_state_dict(hf);
  model->eval();
  const Tensor ids = expected.at("input_ids");
  const Tensor want = expected.at("logits");
  ASSERT_EQ(ids.sizes(), (Shape{2, 16}));
  ASSERT_EQ(want.sizes(), (Shape{2, 16, 97}));
  NoGradGuard no_grad;
  const Tensor got = model(ids);
  EXPECT_TENSOR_CLOSE(got, want, 0.0, 1e-4);
  // The same through the KV cache, one token at a time after a 5-token prefix.
  nn::GPTCache cache = model->make_cache();
  std::vector<Tensor> pieces{model->forward_cached(ids.narrow(1, 0, 5), cache)};
  for (int64_t t = 5; t < 16; ++t) pieces.push_back(model->forward_cached(ids.narrow(1, t, 1), cache));
  EXPECT_TENSOR_CLOSE(cat(pieces, 1), want, 0.0, 1e-4);
}

TEST(GPT2HuggingFace, ExportGivesBackTheFilesTensors) {
  const auto hf = io::load_safetensors(fixture("model.safetensors")).tensors;
  nn::GPT model(nn::GPTConfig::from_gpt2_state_dict(hf, 4));
  model->load_gpt2_state_dict(hf);
  const StateDict out = model->gpt2_state_dict();
  for (const auto& [name, t] : hf) {
    if (name == "lm_head.weight") continue;
    ASSERT_TRUE(out.count(name)) << name;
    EXPECT_TRUE(equal(out.at(name), t)) << name;
  }
  EXPECT_EQ(out.size(), hf.size() - hf.count("lm_head.weight"));
}

TEST(GPT2HuggingFace, ConfigsThatDoNotFitAreRefused) {
  const auto hf = io::load_safetensors(fixture("model.safetensors")).tensors;
  EXPECT_THROW(nn::GPTConfig::from_gpt2_state_dict(hf, 5), ValueError);  // 32 is not divisible by 5
  nn::GPT wider(nn::GPTConfig::from_gpt2_state_dict(hf, 4).n_embd(64));
  EXPECT_THROW(wider->load_gpt2_state_dict(hf), ValueError);
  EXPECT_THROW(nn::GPTConfig::from_gpt2_state_dict(StateDict{}, 4), ValueError);
}
