// nn::Module: registration and dotted names, traversal, modes, conversion,
// state_dict round trips and load_state_dict's errors.
#include <gtest/gtest.h>

#include <kiln/kiln.h>
#include <kiln/nn.h>

#include <sstream>

#include "support/tensor_assert.h"

using namespace kiln;

namespace {

struct Block : nn::Module {
  nn::Conv2d conv{nn::Conv2dOptions(3, 4, 3).padding(1)};
  nn::BatchNorm2d bn{4};
  Block() : Module("Block") {
    register_module("conv", conv);
    register_module("bn", bn);
  }
  Tensor forward(const Tensor& x) { return relu(bn(conv(x))); }
};

struct Net : nn::Module {
  std::shared_ptr<Block> block = std::make_shared<Block>();
  nn::Linear fc{4 * 8 * 8, 10};
  Tensor scale;
  Net() : Module("Net") {
    register_module("features", block);
    register_module("fc", fc);
    scale = register_parameter("scale", ones({1}));
  }
  Tensor forward(const Tensor& x) { return fc(block->forward(x).flatten(1)) * scale; }
};

std::vector<std::string> names_of(const nn::NamedTensors& named) {
  std::vector<std::string> out;
  for (const auto& [name, t] : named) out.push_back(name);
  return out;
}

}  // namespace

TEST(Module, NamedParametersUseDottedPathsInRegistrationOrder) {
  Net net;
  const std::vector<std::string> expected{"scale",        "features.conv.weight", "features.conv.bias",
                                          "features.bn.weight", "features.bn.bias", "fc.weight", "fc.bias"};
  EXPECT_EQ(names_of(net.named_parameters()), expected);
  EXPECT_EQ(net.parameters().size(), expected.size());
  EXPECT_EQ(names_of(net.named_parameters(/*recurse=*/false)), std::vector<std::string>{"scale"});
}

TEST(Module, BuffersIncludeBatchNormRunningStatistics) {
  Net net;
  EXPECT_EQ(names_of(net.named_buffers()),
            (std::vector<std::string>{"features.bn.running_mean", "features.bn.running_var",
                                      "features.bn.num_batches_tracked"}));
  EXPECT_EQ(net.named_buffers()[2].second.dtype(), kInt64);
}

TEST(Module, NamedModulesListsEveryDescendantOnce) {
  auto net = std::make_shared<Net>();
  std::vector<std::string> names;
  for (auto& [name, m] : net->named_modules()) names.push_back(name);
  EXPECT_EQ(names, (std::vector<std::string>{"", "features", "features.conv", "features.bn", "fc"}));
  EXPECT_EQ(net->children().size(), 2u);
  EXPECT_EQ(net->modules().size(), 5u);
}

TEST(Module, ParametersAreLeavesThatRequireGradAndBuffersAreNot) {
  Net net;
  for (auto& p : net.parameters()) {
    EXPECT_TRUE(p.requires_grad());
    EXPECT_TRUE(p.is_leaf());
  }
  for (auto& b : net.buffers()) EXPECT_FALSE(b.requires_grad());
}

TEST(Module, RegisteringADuplicateOrDottedNameThrows) {
  nn::Module m;
  m.register_parameter("w", zeros({2}));
  EXPECT_THROW(m.register_parameter("w", zeros({2})), ValueError);
  EXPECT_THROW(m.register_buffer("w", zeros({2})), ValueError);
  EXPECT_THROW(m.register_parameter("a.b", zeros({2})), ValueError);
  EXPECT_THROW(m.register_parameter("", zeros({2})), ValueError);
  EXPECT_THROW(m.register_parameter("ints", zeros({2}, kInt64)), DTypeError);
  EXPECT_NO_THROW(m.register_parameter("ints_frozen", zeros({2}, kInt64), /*requires_grad=*/false));
}

TEST(Module, TrainAndEvalPropagateToChildren) {
  Net net;
  EXPECT_TRUE(net.is_training());
  net.eval();
  EXPECT_FALSE(net.is_training());
  EXPECT_FALSE(net.block->bn->is_training());
  EXPECT_FALSE(net.fc->is_training());
  net.train();
  EXPECT_TRUE(net.block->conv->is_training());
}

TEST(Module, ToDtypeConvertsFloatingTensorsInPlaceAndKeepsHandles) {
  Net net;
  Tensor w = net.fc->weight;  // a handle taken before the conversion
  const std::vector<float> before = w.to_vector<float>();
  net.to(kFloat64);
  EXPECT_EQ(w.dtype(), kFloat64);
  EXPECT_EQ(net.fc->weight.dtype(), kFloat64);
  EXPECT_TRUE(w.requires_grad());
  EXPECT_EQ(net.block->bn->num_batches_tracked.dtype(), kInt64);  // integer buffers keep their type
  const std::vector<double> after = w.to_vector<double>();
  for (size_t i = 0; i < before.size(); ++i) ASSERT_EQ(static_cast<double>(before[i]), after[i]);
  Tensor y = net.forward(randn({2, 3, 8, 8}, kFloat64));
  EXPECT_EQ(y.dtype(), kFloat64);
  EXPECT_THROW(net.to(kInt32), DTypeError);
}

TEST(Module, ZeroGradClearsOrZeroesGradients) {
  Net net;
  net.forward(randn({2, 3, 8, 8})).sum().backward();
  ASSERT_TRUE(net.fc->weight.grad().defined());
  net.zero_grad(/*set_to_none=*/false);
  ASSERT_TRUE(net.fc->weight.grad().defined());
  EXPECT_EQ(net.fc->weight.grad().abs().sum().item<double>(), 0.0);
  net.zero_grad();
  EXPECT_FALSE(net.fc->weight.grad().defined());
}

TEST(Module, StateDictRoundTripRestoresOutputs) {
  manual_seed(1);
  Net a, b;
  Tensor x = randn({2, 3, 8, 8});
  a.forward(x);  // moves a's running statistics
  a.eval();
  b.eval();
  StateDict sd = a.state_dict();
  EXPECT_EQ(sd.size(), 10u);  // 7 parameters + 3 buffers
  EXPECT_EQ(sd.count("features.bn.running_var"), 1u);
  EXPECT_FALSE(equal(a.forward(x), b.forward(x)));
  b.load_state_dict(sd);
  EXPECT_TENSOR_CLOSE(b.forward(x), a.forward(x));
  EXPECT_EQ(b.block->bn->num_batches_tracked.item<int64_t>(), 1);
  // The loaded tensors are copies: changing a does not change b.
  {
    NoGradGuard no_grad;
    a.fc->bias.fill_(5.0);
  }
  EXPECT_NE(b.fc->bias.at<float>({0}), 5.0f);
}

TEST(Module, LoadStateDictStrictReportsMissingUnexpectedAndMisshapen) {
  Net net;
  StateDict sd = net.state_dict();
  sd.erase("fc.bias");
  sd["extra.weight"] = zeros({1});
  sd["fc.weight"] = zeros({3, 3});
  try {
    net.load_state_dict(sd);
    FAIL() << "expected ValueError";
  } catch (const ValueError& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("Missing keys (1): fc.bias"), std::string::npos) << msg;
    EXPECT_NE(msg.find("Unexpected keys (1): extra.weight"), std::string::npos) << msg;
    EXPECT_NE(msg.find("fc.weight: checkpoint [3, 3] vs module [10, 256]"), std::string::npos) << msg;
  }
}

TEST(Module, LoadStateDictNonStrictSkipsMissingButStillRejectsShapes) {
  Net net;
  StateDict partial{{"fc.bias", full({10}, 2.0)}, {"unknown", zeros({1})}};
  net.load_state_dict(partial, /*strict=*/false);
  EXPECT_EQ(net.fc->bias.at<float>({3}), 2.0f);
  EXPECT_THROW(net.load_state_dict({{"fc.bias", zeros({4})}}, /*strict=*/false), ValueError);
}

TEST(Module, LoadStateDictConvertsDtype) {
  nn::Linear fc(3, 2);
  StateDict sd{{"weight", ones({2, 3}, kFloat64)}, {"bias", zeros({2}, kFloat64)}};
  fc->load_state_dict(sd);
  EXPECT_EQ(fc->weight.dtype(), kFloat32);
  EXPECT_EQ(fc->weight.sum().item<double>(), 6.0);
}

TEST(Module, HoldersShareTheModuleAndCallForward) {
  nn::Linear fc(4, 2);
  nn::Linear alias = fc;
  EXPECT_EQ(alias.get(), fc.get());
  Tensor x = randn({3, 4});
  EXPECT_TENSOR_CLOSE(fc(x), fc->forward(x));
  nn::Linear empty_holder(nullptr);
  EXPECT_TRUE(empty_holder.is_empty());
  EXPECT_THROW(empty_holder->forward(x), ValueError);
}

TEST(Module, SequentialNamesChildrenByIndexAndChainsForward) {
  nn::Sequential seq(nn::Linear(4, 8), nn::ReLU(), nn::Linear(8, 2));
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_EQ(names_of(seq->named_parameters()),
            (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  Tensor x = randn({5, 4});
  auto l0 = seq->ptr<nn::LinearImpl>(0), l2 = seq->ptr<nn::LinearImpl>(2);
  EXPECT_TENSOR_CLOSE(seq(x), l2->forward(relu(l0->forward(x))));
  EXPECT_THROW(seq->at<nn::LinearImpl>(1), ValueError);
  EXPECT_THROW((*seq)[7], IndexError);
}

TEST(Module, PrintingShowsTheTree) {
  nn::Sequential seq(nn::Conv2d(1, 8, 3), nn::ReLU());
  std::ostringstream os;
  os << seq;
  EXPECT_NE(os.str().find("(0): Conv2d(1, 8, kernel_size=(3, 3)"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("(1): ReLU"), std::string::npos) << os.str();
}
