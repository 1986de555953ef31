// GPT::generate's sampler on a model whose next-token distribution is
// known: temperature draws follow softmax(logits / T), top_p keeps exactly
// the nucleus and draws from it renormalised. Frequencies are checked
// against the expected counts within 6 binomial standard deviations.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <cmath>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "support/tensor_assert.h"

using namespace kiln;

namespace {

// A GPT whose logits are `logits` at every position whatever the ids: no
// blocks, ln_f's gain 0 and bias e_0, so ln_f(x) = e_0 and the tied head
// gives column 0 of wte.
nn::GPT fixed_logits_model(const std::vector<float>& logits) {
  const auto V = static_cast<int64_t>(logits.size());
  nn::GPT model(nn::GPTConfig().vocab_size(V).block_size(64).n_layer(0).n_head(1).n_embd(4));
  NoGradGuard no_grad;
  model->ln_f->weight.zero_();
  model->ln_f->bias.zero_();
  model->ln_f->bias.narrow(0, 0, 1).fill_(1.0);
  model->wte->weight.narrow(1, 0, 1).copy_(tensor(logits, {V, 1}));
  return model;
}

std::vector<float> log_of(const std::vector<double>& probs) {
  std::vector<float> l;
  for (double p : probs) l.push_back(static_cast<float>(std::log(p)));
  return l;
}

// How often each token was drawn among the new tokens of `rows` rows x
// `steps` steps, over the given seeds.
std::vector<int64_t> counts(nn::GPT& model, int64_t rows, int64_t steps, nn::GenerateOptions o,
                            const std::vector<uint64_t>& seeds) {
  std::vector<int64_t> c(static_cast<size_t>(model->config().vocab_size()), 0);
  const Tensor prompt = zeros({rows, 1}, kInt64);
  for (uint64_t seed : seeds) {
    Tensor out = model->generate(prompt, steps, o.seed(seed));
    for (int64_t v : out.narrow(1, 1, steps).to_vector<int64_t>()) ++c[static_cast<size_t>(v)];
  }
  return c;
}

std::vector<double> softmax_of(const std::vector<float>& logits, double T) {
  std::vector<double> p;
  double z = 0;
  for (float l : logits) z += std::exp(l / T);
  for (float l : logits) p.push_back(std::exp(l / T) / z);
  return p;
}

void expect_frequencies(const std::vector<int64_t>& count, const std::vector<double>& p, const std::string& what) {
  int64_t n = 0;
  for (int64_t c : count) n += c;
  for (size_t i = 0; i < p.size(); ++i) {
    const double sd = std::sqrt(n * p[i] * (1 - p[i]));
    EXPECT_NEAR(static_cast<double>(count[i]), n * p[i], 6 * sd + 1) << what << ", token " << i;
  }
}

}  // namespace

TEST(GPTSampling, TheFixedLogitsModelGivesItsLogitsEverywhere) {
  const std::vector<float> l = {2.0f, -1.0f, 0.5f, 0.0f};
  nn::GPT model = fixed_logits_model(l);
  Tensor logits = model(randint(0, 4, {3, 9}));
  EXPECT_TENSOR_CLOSE(logits, tensor(l, {1, 1, 4}).expand({3, 9, 4}), 1e-6, 1e-6);
}

// softmax(l / T) for T = 0.5, 1 and 2, 20,000 draws each; the argmax is
// drawn more often the lower the temperature.
TEST(GPTSampling, TemperatureDrawsFollowTheTemperedSoftmax) {
  const std::vector<float> l = {0.5f, 2.0f, -1.0f, 1.0f, 0.0f};  // argmax: token 1
  nn::GPT model = fixed_logits_model(l);
  std::vector<int64_t> argmax_count;
  for (double T : {0.5, 1.0, 2.0}) {
    const std::vector<int64_t> c = counts(model, 1000, 20, {T}, {7});
    expect_frequencies(c, softmax_of(l, T), "T " + std::to_string(T));
    argmax_count.push_back(c[1]);
  }
  EXPECT_GT(argmax_count[0], argmax_count[1]);
  EXPECT_GT(argmax_count[1], argmax_count[2]);
}

// Probabilities 0.35 (token 3), 0.25 (1), 0.19 (6), 0.12 (5), then 0.04,
// 0.03, 0.01, 0.01: with top_p = 0.9 the nucleus is {3, 1, 6, 5} (mass
// 0.91; without token 5 it is 0.79). Over 20 seeds every draw lies in it,
// every token of it is drawn, with the nucleus' renormalised frequencies.
TEST(GPTSampling, TopPDrawsExactlyTheNucleusRenormalised) {
  const std::vector<double> p = {0.03, 0.25, 0.04, 0.35, 0.01, 0.12, 0.19, 0.01};
  nn::GPT model = fixed_logits_model(log_of(p));
  std::vector<uint64_t> seeds;
  for (uint64_t s = 0; s < 20; ++s) seeds.push_back(s);
  const std::vector<int64_t> c = counts(model, 100, 10, {1.0, 0, 0.9}, seeds);
  const std::set<size_t> nucleus = {1, 3, 5, 6};
  std::vector<double> renormalised(p.size(), 0.0);
  for (size_t i = 0; i < p.size(); ++i) {
    if (nucleus.count(i)) {
      EXPECT_GT(c[i], 0) << "token " << i << " of the nucleus never drawn";
      renormalised[i] = p[i] / 0.91;
    } else {
      EXPECT_EQ(c[i], 0) << "token " << i << " lies outside the nucleus";
    }
  }
  expect_frequencies(c, renormalised, "top_p 0.9");
}

// The nucleus is taken of the tempered distribution: at T = 0.5 the same
// logits give 0.514, 0.262, 0.152, 0.060, ... so top_p = 0.9 keeps {3, 1, 6}
// (mass 0.928; without token 6 it is 0.776).
TEST(GPTSampling, TopPAppliesAfterTheTemperature) {
  const std::vector<double> p = {0.03, 0.25, 0.04, 0.35, 0.01, 0.12, 0.19, 0.01};
  nn::GPT model = fixed_logits_model(log_of(p));
  const std::vector<int64_t> c = counts(model, 500, 10, {0.5, 0, 0.9}, {3, 4});
  for (size_t i : {1, 3, 6}) EXPECT_GT(c[i], 0) << "token " << i;
  for (size_t i : {0, 2, 4, 5, 7}) EXPECT_EQ(c[i], 0) << "token " << i;
}
