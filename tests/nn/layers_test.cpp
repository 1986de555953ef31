// Layers: shapes, parameters, default initialisation, mode-dependent behaviour.
#include <gtest/gtest.h>

#include <kiln/kiln.h>
#include <kiln/nn.h>

#include <cmath>

#include "naive_reference.h"
#include "support/tensor_assert.h"

using namespace kiln;

TEST(Linear, DefaultInitIsUniformWithinOneOverSqrtFanIn) {
  manual_seed(0);
  nn::Linear fc(400, 30);
  const double bound = 1.0 / std::sqrt(400.0);
  EXPECT_LE(fc->weight.abs().max().item<double>(), bound);
  EXPECT_LE(fc->bias.abs().max().item<double>(), bound);
  // U(-b, b) has standard deviation b/sqrt(3).
  EXPECT_NEAR(fc->weight.std().item<double>(), bound / std::sqrt(3.0), 0.05 * bound);
  EXPECT_EQ(fc->forward(randn({7, 400})).sizes(), (Shape{7, 30}));
}

TEST(Linear, WithoutBiasHasOneParameter) {
  nn::Linear fc(3, 2, /*bias=*/false);
  EXPECT_EQ(fc->parameters().size(), 1u);
  EXPECT_FALSE(fc->bias.defined());
}

TEST(Conv2d, ForwardMatchesNaiveLoopsAndInitUsesFanIn) {
  manual_seed(2);
  nn::Conv2d conv(nn::Conv2dOptions(4, 6, 3).stride(2).padding(1).groups(2));
  EXPECT_EQ(conv->weight.sizes(), (Shape{6, 2, 3, 3}));
  const double bound = 1.0 / std::sqrt(2.0 * 9.0);
  EXPECT_LE(conv->weight.abs().max().item<double>(), bound);
  Tensor x = randn({2, 4, 9, 9});
  Tensor ref = testref::conv2d(x, conv->weight, conv->bias, 2, 1, 1, 2);
  EXPECT_TENSOR_CLOSE(conv(x).to(kFloat64), ref, 1e-4, 1e-5);
}

TEST(Conv2d, RejectsChannelsNotDivisibleByGroups) {
  EXPECT_THROW(nn::Conv2d(3, 4, 3, 1, 0, 1, /*groups=*/2), ValueError);
}

TEST(BatchNorm2d, TrainingTracksRunningStatsAndEvalUsesThem) {
  nn::BatchNorm2d bn(3);
  Tensor x = randn({8, 3, 4, 4}) * 3.0 + 2.0;
  Tensor y = bn(x);
  EXPECT_NEAR(y.mean().item<double>(), 0.0, 1e-5);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
  EXPECT_TENSOR_CLOSE(bn->running_mean, x.mean({0, 2, 3}) * 0.1, 1e-4, 1e-5);
  bn->eval();
  Tensor z = bn(x);
  Tensor expect = (x - bn->running_mean.view({1, 3, 1, 1})) / (bn->running_var.view({1, 3, 1, 1}) + 1e-5).sqrt();
  EXPECT_TENSOR_CLOSE(z, expect, 1e-4, 1e-5);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);  // eval does not count
}

TEST(BatchNorm2d, WithoutRunningStatsAlwaysUsesTheBatch) {
  nn::BatchNorm2d bn(2, 1e-5, 0.1, /*affine=*/false, /*track_running_stats=*/false);
  EXPECT_TRUE(bn->parameters().empty());
  EXPECT_TRUE(bn->buffers().empty());
  bn->eval();
  Tensor x = randn({4, 2, 3, 3}) + 5.0;
  EXPECT_NEAR(bn(x).mean().item<double>(), 0.0, 1e-5);
}

TEST(Pooling, LayersMatchFunctionalOps) {
  Tensor x = randn({2, 3, 9, 9});
  EXPECT_TRUE(equal(nn::MaxPool2d(3, 2, 1)(x), max_pool2d(x, 3, 2, 1)));
  EXPECT_TRUE(equal(nn::AvgPool2d(2)(x), avg_pool2d(x, 2)));
  EXPECT_EQ(nn::AdaptiveAvgPool2d(Size2(1, 1))(x).sizes(), (Shape{2, 3, 1, 1}));
  EXPECT_EQ(nn::MaxPool2d(2, std::nullopt, 0, /*ceil_mode=*/true)(x).sizes(), (Shape{2, 3, 5, 5}));
}

TEST(Activations, MatchTheirOps) {
  Tensor x = randn({4, 5});
  EXPECT_TRUE(equal(nn::ReLU()(x), relu(x)));
  EXPECT_TRUE(equal(nn::GELU()(x), gelu(x)));
  EXPECT_TRUE(equal(nn::GELU("tanh")(x), gelu(x, "tanh")));
  EXPECT_TRUE(equal(nn::SiLU()(x), silu(x)));
  EXPECT_TRUE(equal(nn::Tanh()(x), tanh(x)));
  EXPECT_THROW(nn::GELU("fast"), ValueError);
}

TEST(Flatten, KeepsTheBatchDim) {
  EXPECT_EQ(nn::Flatten()(zeros({2, 3, 4, 5})).sizes(), (Shape{2, 60}));
  EXPECT_EQ(nn::Flatten(0, 1)(zeros({2, 3, 4})).sizes(), (Shape{6, 4}));
}

TEST(Init, XavierAndKaimingHaveTheirStandardDeviations) {
  manual_seed(9);
  Tensor w = empty({256, 512});
  nn::init::xavier_normal_(w);
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / 768.0), 0.003);
  nn::init::kaiming_normal_(w, 0, "fan_in", "relu");
  EXPECT_NEAR(w.std().item<double>(), std::sqrt(2.0 / 512.0), 0.003);
  nn::init::xavier_uniform_(w);
  EXPECT_LE(w.abs().max().item<double>(), std::sqrt(6.0 / 768.0));
  nn::init::kaiming_uniform_(w, 0, "fan_out", "relu");
  EXPECT_LE(w.abs().max().item<double>(), std::sqrt(6.0 / 256.0));
  EXPECT_EQ(nn::init::calculate_fan_in_and_fan_out(empty({8, 4, 3, 3})), (std::pair<int64_t, int64_t>{36, 72}));
  nn::init::ones_(w);
  EXPECT_EQ(w.sum().item<double>(), 256.0 * 512.0);
}

TEST(Init, DoesNotRecordGradients) {
  nn::Linear fc(3, 3);
  nn::init::normal_(fc->weight);
  EXPECT_TRUE(fc->weight.is_leaf());
}
