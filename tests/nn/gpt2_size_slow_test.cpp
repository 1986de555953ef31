// GPT-2 124M built whole: its parameter count. Slow because initialising
// 124M parameters (twice: each layer's own init, then GPT-2's) takes seconds
// on the CPU's element-wise Philox fills.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

using namespace kiln;

TEST(GPT, Gpt2SmallHas124439808ParametersWithTiedWeights) {
  nn::GPT model(nn::GPTConfig::gpt2());
  EXPECT_EQ(nn::parameter_count(*model), 124439808);
  // The LM head is wte itself: no second [50257, 768] tensor.
  EXPECT_EQ(model->named_parameters().size(), 2u + 12u * 12u + 2u);
  EXPECT_EQ(model->wte->weight.sizes(), (Shape{50257, 768}));
  EXPECT_EQ(model->wpe->weight.sizes(), (Shape{1024, 768}));
}
