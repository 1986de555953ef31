// A tiny GPT learns a short text by heart: the loss falls to almost zero and
// greedy generation from its first byte gives the text back.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include <string>

using namespace kiln;

TEST(GPTTraining, TinyModelOverfitsAShortText) {
  const std::string text = "kiln fires the clay; the clay becomes a pot. ";
  const int64_t T = static_cast<int64_t>(text.size()) - 1;
  std::vector<int64_t> bytes(text.begin(), text.end());
  Tensor all = tensor(bytes, {1, T + 1});
  Tensor x = all.narrow(1, 0, T), y = all.narrow(1, 1, T);
  manual_seed(0);
  nn::GPT model(nn::GPTConfig::tiny());
  auto [decay, no_decay] = model->parameters_for_weight_decay();
  std::vector<optim::OptimizerParamGroup> groups;
  groups.emplace_back(decay, std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(3e-3).weight_decay(0.01)));
  groups.emplace_back(no_decay, std::make_unique<optim::AdamWOptions>(optim::AdamWOptions(3e-3).weight_decay(0.0)));
  optim::AdamW opt(std::move(groups), optim::AdamWOptions(3e-3));
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    Tensor loss = cross_entropy(model(x).view({T, 256}), y.view({T}));
    opt.zero_grad();
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    last = loss.item<double>();
  }
  EXPECT_NEAR(first, std::log(256.0), 0.3);  // GPT-2 init starts near uniform
  EXPECT_LT(last, 0.05);
  Tensor out = model->generate(x.narrow(1, 0, 1), T, {0.0});
  const auto got = out.to_vector<int64_t>();
  EXPECT_EQ(std::string(got.begin(), got.end()), text.substr(0, T + 1));
}
