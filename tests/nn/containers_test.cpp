// The LibTorch Module API: ordered-dict traversal, clone(), KILN_MODULE,
// Sequential by name and index (and its BatchNorm + ReLU fusion), ModuleList, ModuleDict, Functional,
// parameter counts in printing, nn::init enums and nn::utils.
#include <gtest/gtest.h>

#include <kiln/kiln.h>

#include "autograd/node.h"  // grad_fn()->name(): which op ran

#include <cmath>
#include <sstream>

using namespace kiln;

namespace {

struct TwoLayerImpl : nn::Cloneable<TwoLayerImpl> {
  explicit TwoLayerImpl(int64_t hidden = 8) : Cloneable("TwoLayer"), hidden(hidden) { reset(); }
  void reset() override {
    fc1 = register_module("fc1", nn::Linear(4, hidden));
    bn = register_module("bn", nn::BatchNorm1d(hidden));
    fc2 = register_module("fc2", nn::Linear(hidden, 2));
    scale = register_parameter("scale", ones({1}));
  }
  Tensor forward(const Tensor& x) { return fc2(relu(bn(fc1(x)))) * scale; }
  int64_t hidden;
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::BatchNorm1d bn{nullptr};
  Tensor scale;
};
KILN_MODULE(TwoLayer);

// A ReLU with its own forward: Sequential must run it, not fuse it away.
struct LeakyishReLUImpl : nn::ReLUImpl {
  Tensor forward(const Tensor& x) { return nn::ReLUImpl::forward(x) + 1.0; }
};

struct NotCloneable : nn::Module {
  NotCloneable() : Module("NotCloneable") { register_module("fc", nn::Linear(2, 2)); }
};

}  // namespace

TEST(ModuleApi, NamedTraversalsAreOrderedDictsWithKeyAndValue) {
  TwoLayer net;
  auto params = net->named_parameters();
  std::vector<std::string> keys;
  for (const auto& p : params) keys.push_back(p.key());
  // A module's own parameters come first, then its children's (as in PyTorch).
  EXPECT_EQ(keys, (std::vector<std::string>{"scale", "fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight",
                                            "fc2.bias"}));
  EXPECT_EQ(params.keys(), keys);
  EXPECT_TRUE(params["fc2.weight"].is_same(net->fc2->weight));
  EXPECT_TRUE(params[1].value().is_same(net->fc1->weight));
  EXPECT_EQ(params.size(), 7u);
  EXPECT_TRUE(params.contains("bn.bias"));
  EXPECT_EQ(params.find("nope"), nullptr);
  EXPECT_THROW(params["nope"], ValueError);
  EXPECT_THROW(params[7], IndexError);
  for (auto& [name, t] : net->named_buffers()) EXPECT_EQ(name.rfind("bn.", 0), 0u) << name;
  auto children = net->named_children();
  EXPECT_EQ(children.keys(), (std::vector<std::string>{"fc1", "bn", "fc2"}));
  EXPECT_NE(children["bn"]->as<nn::BatchNorm1d>(), nullptr);
  EXPECT_EQ(children["bn"]->as<nn::Linear>(), nullptr);
  EXPECT_NE(children["fc1"]->as<nn::LinearImpl>(), nullptr);
  EXPECT_EQ(net->named_modules().size(), 4u);
}

TEST(ModuleApi, CloneIsADeepCopyWithTheSameValuesAndMode) {
  manual_seed(1);
  TwoLayer net(6);
  Tensor x = randn({5, 4});
  net(x);  // moves the running statistics
  net->eval();
  net->fc1->weight.requires_grad_(false);
  auto copy = std::dynamic_pointer_cast<TwoLayerImpl>(net->clone());
  ASSERT_NE(copy, nullptr);
  EXPECT_EQ(copy->hidden, 6);
  EXPECT_FALSE(copy->is_training());
  EXPECT_FALSE(copy->bn->is_training());
  const auto mine = net->state_dict(), theirs = copy->state_dict();
  ASSERT_EQ(mine.size(), theirs.size());
  for (const auto& [name, t] : mine) {
    EXPECT_TRUE(equal(t, theirs.at(name))) << name;
    EXPECT_NE(t.raw_data_ptr(), theirs.at(name).raw_data_ptr()) << name << " shares storage";
  }
  EXPECT_FALSE(copy->fc1->weight.requires_grad());
  EXPECT_TRUE(copy->fc2->weight.requires_grad());
  EXPECT_TRUE(copy->named_parameters()["fc2.weight"].is_same(copy->fc2->weight)) << "members point at the copy's tensors";
  EXPECT_TRUE(equal(net(x), copy->forward(x)));
  // Changing the copy leaves the original alone.
  {
    NoGradGuard no_grad;
    copy->fc2->bias.fill_(7.0);
  }
  EXPECT_NE(net->fc2->bias.at<float>({0}), 7.0f);
  // Layers and containers clone too.
  nn::Sequential seq(nn::Conv2d(nn::Conv2dOptions(1, 2, 3).padding(1)), nn::BatchNorm2d(2), nn::ReLU());
  seq->push_back("head", nn::Flatten());
  auto seq_copy = std::dynamic_pointer_cast<nn::SequentialImpl>(seq->clone());
  ASSERT_NE(seq_copy, nullptr);
  Tensor img = randn({2, 1, 5, 5});
  EXPECT_TRUE(equal(seq(img), seq_copy->forward(img)));
  EXPECT_EQ(seq_copy->named_children().keys(), (std::vector<std::string>{"0", "1", "2", "head"}));
  EXPECT_NE(seq_copy->ptr<nn::Conv2dImpl>(0)->weight.raw_data_ptr(), seq->ptr<nn::Conv2dImpl>(0)->weight.raw_data_ptr());
  EXPECT_THROW(NotCloneable().clone(), ValueError);
}

TEST(ModuleApi, SequentialByNameAndIndexAndExtend) {
  nn::Sequential seq;
  seq->push_back("fc1", nn::Linear(4, 8));
  seq->push_back("act", nn::ReLU());
  seq->push_back(nn::Linear(8, 2));
  EXPECT_EQ(seq->named_children().keys(), (std::vector<std::string>{"fc1", "act", "2"}));
  EXPECT_EQ((*seq)[1]->name(), "ReLU");
  EXPECT_EQ(seq->at<nn::LinearImpl>(0).options.out_features(), 8);
  EXPECT_THROW(seq->at<nn::LinearImpl>(1), ValueError);
  EXPECT_THROW(seq->push_back("fc1", nn::ReLU()), ValueError) << "names are unique";
  Tensor x = randn({3, 4});
  EXPECT_TRUE(equal(seq(x), seq->at<nn::LinearImpl>(2).forward(relu(seq->at<nn::LinearImpl>(0).forward(x)))));
  nn::Sequential more{nn::Tanh()};
  seq->extend(*more);
  EXPECT_EQ(seq->size(), 4u);
  EXPECT_EQ((*seq)[3]->name(), "Tanh");
}

TEST(ModuleApi, SequentialFromNamedModulesAsLibTorch) {
  manual_seed(5);
  nn::Linear fc(4, 3);
  nn::Sequential seq({{"fc", fc}, {"act", nn::ReLU()}, {"out", std::make_shared<nn::LinearImpl>(3, 2)}});
  EXPECT_EQ(seq->named_children().keys(), (std::vector<std::string>{"fc", "act", "out"}));
  EXPECT_EQ(seq->size(), 3u);
  EXPECT_TRUE((*seq)[0] == fc.ptr()) << "the module itself, not a copy";
  Tensor x = randn({5, 4});
  EXPECT_TRUE(equal(seq(x), seq->at<nn::LinearImpl>(2).forward(relu(fc(x)))));
  EXPECT_EQ(seq->named_parameters().keys(), (std::vector<std::string>{"fc.weight", "fc.bias", "out.weight", "out.bias"}));
  // The same on the Impl, and a name given twice is refused as push_back refuses it.
  nn::SequentialImpl impl({{"a", nn::Tanh()}, {"b", nn::ReLU()}});
  EXPECT_EQ(impl.named_children().keys(), (std::vector<std::string>{"a", "b"}));
  EXPECT_THROW(nn::Sequential({{"a", nn::Tanh()}, {"a", nn::ReLU()}}), ValueError);
  // A flat list of modules still means positional names.
  nn::Sequential flat{nn::ReLU(), nn::ReLU()};
  EXPECT_EQ(flat->named_children().keys(), (std::vector<std::string>{"0", "1"}));
  // It clones with its names.
  auto copy = std::dynamic_pointer_cast<nn::SequentialImpl>(seq->clone());
  ASSERT_TRUE(copy != nullptr);
  EXPECT_EQ(copy->named_children().keys(), (std::vector<std::string>{"fc", "act", "out"}));
  EXPECT_TRUE(equal(copy->forward(x), seq(x)));
}

TEST(ModuleApi, ModuleListHoldsModulesWithoutAForward) {
  nn::ModuleList list(nn::Linear(3, 3), nn::ReLU());
  list->push_back(nn::Linear(3, 1));
  EXPECT_EQ(list->size(), 3u);
  EXPECT_EQ(list->named_parameters().keys(), (std::vector<std::string>{"0.weight", "0.bias", "2.weight", "2.bias"}));
  list->insert(1, nn::Tanh());
  EXPECT_EQ(list->named_children().keys(), (std::vector<std::string>{"0", "1", "2", "3"}));
  EXPECT_EQ((*list)[1]->name(), "Tanh");
  EXPECT_EQ(list->at<nn::LinearImpl>(3).options.out_features(), 1);
  EXPECT_THROW((*list)[9], IndexError);
  Tensor x = randn({2, 3});
  for (const auto& m : *list) {
    if (auto* lin = m->as<nn::Linear>()) x = lin->forward(x);
  }
  EXPECT_EQ(x.sizes(), (Shape{2, 1}));
  auto copy = std::dynamic_pointer_cast<nn::ModuleListImpl>(list->clone());
  EXPECT_EQ(copy->size(), 4u);
  EXPECT_EQ(parameter_count(*copy), parameter_count(*list));
}

TEST(ModuleApi, ModuleDictByKey) {
  using Named = std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>;
  nn::ModuleDict dict(Named{{"cls", nn::Linear(4, 10).ptr()}, {"box", nn::Linear(4, 4).ptr()}});
  EXPECT_EQ(dict->keys(), (std::vector<std::string>{"cls", "box"}));
  EXPECT_TRUE(dict->contains("box"));
  EXPECT_EQ(dict->at<nn::LinearImpl>("cls").options.out_features(), 10);
  EXPECT_EQ(dict->named_parameters().keys(), (std::vector<std::string>{"cls.weight", "cls.bias", "box.weight", "box.bias"}));
  dict->insert("cls", nn::Linear(4, 3));
  EXPECT_EQ(dict->at<nn::LinearImpl>("cls").options.out_features(), 3) << "insert replaces";
  EXPECT_EQ((*dict)["cls"].get(), dict->named_children()["cls"].get());
  auto popped = dict->pop("box");
  EXPECT_EQ(popped->name(), "Linear");
  EXPECT_EQ(dict->size(), 1u);
  EXPECT_EQ(dict->named_children().size(), 1u);
  EXPECT_THROW((*dict)["box"], ValueError);
  dict->clear();
  EXPECT_TRUE(dict->empty());
  EXPECT_EQ(dict->named_parameters().size(), 0u);
}

TEST(ModuleApi, FunctionalPutsAFunctionInASequential) {
  nn::Sequential seq(nn::Linear(3, 3), nn::Functional(kiln::relu),
                     nn::Functional(kiln::gelu, std::string("tanh")));
  Tensor x = randn({2, 3});
  EXPECT_TRUE(equal(seq(x), gelu(relu(seq->at<nn::LinearImpl>(0).forward(x)), "tanh")));
  nn::Functional f([](const Tensor& t) { return t * 2.0; });
  EXPECT_TRUE(equal(f(x), x * 2.0));
}

// A BatchNorm followed by a ReLU runs as one batch_norm_relu: the same
// output, running statistics and gradients, bit for bit, as the two modules
// called one after the other, in training and in eval mode.
TEST(ModuleApi, SequentialRunsBatchNormThenReluAsOneOpWithTheSameResults) {
  for (bool training : {true, false}) {
    manual_seed(3);
    nn::Sequential fused(nn::Conv2d(nn::Conv2dOptions(2, 4, 3).padding(1)), nn::BatchNorm2d(4), nn::ReLU(),
                         nn::Flatten(), nn::Linear(4 * 5 * 5, 6), nn::BatchNorm1d(6), nn::ReLU());
    auto unfused = std::dynamic_pointer_cast<nn::SequentialImpl>(fused->clone());
    if (!training) {
      fused->eval();
      unfused->eval();
    }
    const Tensor x = randn({3, 2, 5, 5});
    Tensor y_fused = fused(x);
    Tensor y = x;
    for (size_t i = 0; i < unfused->size(); ++i) {
      auto m = (*unfused)[i];
      if (auto conv = std::dynamic_pointer_cast<nn::Conv2dImpl>(m)) y = conv->forward(y);
      else if (auto bn2 = std::dynamic_pointer_cast<nn::BatchNorm2dImpl>(m)) y = bn2->forward(y);
      else if (auto bn1 = std::dynamic_pointer_cast<nn::BatchNorm1dImpl>(m)) y = bn1->forward(y);
      else if (std::dynamic_pointer_cast<nn::ReLUImpl>(m)) y = relu(y);
      else if (std::dynamic_pointer_cast<nn::FlattenImpl>(m)) y = y.flatten(1);
      else y = std::dynamic_pointer_cast<nn::LinearImpl>(m)->forward(y);
    }
    EXPECT_EQ(y_fused.grad_fn()->name(), "BatchNormReluBackward");
    EXPECT_EQ(y.grad_fn()->name(), "ReluBackward");
    EXPECT_TRUE(equal(y_fused, y)) << "training " << training;
    const Tensor g = randn(y.sizes());
    y_fused.backward(g);
    y.backward(g);
    const auto fp = fused->named_parameters(), up = unfused->named_parameters();
    ASSERT_EQ(fp.size(), up.size());
    for (size_t i = 0; i < fp.size(); ++i)
      EXPECT_TRUE(equal(fp[i].value().grad(), up[i].value().grad())) << fp[i].key() << " training " << training;
    const auto fb = fused->named_buffers(), ub = unfused->named_buffers();
    for (size_t i = 0; i < fb.size(); ++i) EXPECT_TRUE(equal(fb[i].value(), ub[i].value())) << fb[i].key();
  }
}

TEST(ModuleApi, SequentialDoesNotFuseAReluSubclassOrAReluThatDoesNotFollowABatchNorm) {
  nn::Sequential seq(nn::BatchNorm1d(3), std::make_shared<LeakyishReLUImpl>());
  const Tensor x = randn({4, 3});
  nn::Sequential plain(nn::BatchNorm1d(3));
  EXPECT_TRUE(equal(seq(x), relu(plain(x)) + 1.0));
  nn::Sequential relu_first(nn::ReLU(), nn::BatchNorm1d(3));
  EXPECT_EQ(relu_first(x).grad_fn()->name(), "BatchNormBackward");
}

TEST(ModuleApi, PrintingEndsWithTheParameterCount) {
  nn::Sequential seq(nn::Conv2d(1, 8, 3), nn::ReLU(), nn::Linear(10, 2));
  EXPECT_EQ(parameter_count(*seq), 8 * 9 + 8 + 10 * 2 + 2);
  seq->at<nn::LinearImpl>(2).bias.requires_grad_(false);
  EXPECT_EQ(parameter_count(*seq, /*trainable_only=*/true), 8 * 9 + 8 + 10 * 2);
  std::ostringstream os;
  os << seq;
  EXPECT_NE(os.str().find("(0): Conv2d(1, 8, kernel_size=(3, 3)"), std::string::npos) << os.str();
  EXPECT_NE(os.str().find("Parameters: 102 (trainable: 100)"), std::string::npos) << os.str();
}

TEST(ModuleApi, InitTakesLibTorchsEnums) {
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(kReLU), std::sqrt(2.0));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(kTanh), 5.0 / 3.0);
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(kLeakyReLU, 0.2), nn::init::calculate_gain("leaky_relu", 0.2));
  EXPECT_DOUBLE_EQ(nn::init::calculate_gain(kConv2D), 1.0);
  // Same seed, same draws: the enum and the string forms are the same call.
  Tensor a = empty({64, 32}), b = empty({64, 32});
  manual_seed(5);
  nn::init::kaiming_normal_(a, 0.0, kFanOut, kReLU);
  manual_seed(5);
  nn::init::kaiming_normal_(b, 0.0, "fan_out", "relu");
  EXPECT_TRUE(equal(a, b));
  manual_seed(6);
  nn::init::kaiming_uniform_(a, 0.0, kFanIn);
  const double bound = std::sqrt(2.0 / (1 + 0.0)) * std::sqrt(3.0 / 32);
  EXPECT_LE(a.abs().max().item<double>(), bound + 1e-6);
  EXPECT_GT(a.abs().max().item<double>(), 0.9 * bound);
}

TEST(ModuleApi, UtilsVectorRoundTripAndClipping) {
  nn::Linear fc(3, 2);
  auto params = fc->parameters();
  Tensor v = nn::utils::parameters_to_vector(params);
  EXPECT_EQ(v.sizes(), (Shape{8}));
  EXPECT_TRUE(equal(v.narrow(0, 0, 6).reshape({2, 3}), fc->weight));
  nn::utils::vector_to_parameters(arange(8).to(kFloat32), params);
  EXPECT_EQ(fc->weight.at<float>({1, 2}), 5.0f);
  EXPECT_EQ(fc->bias.at<float>({1}), 7.0f);
  EXPECT_THROW(nn::utils::vector_to_parameters(zeros({7}), params), ShapeError);
  // parameters_to_vector is differentiable.
  (nn::utils::parameters_to_vector(params) * arange(8).to(kFloat32)).sum().backward();
  EXPECT_EQ(fc->bias.grad().at<float>({0}), 6.0f);
  fc->weight.grad().fill_(3.0);
  fc->bias.grad().fill_(4.0);
  const double norm = nn::utils::clip_grad_norm_(params, 1.0);
  EXPECT_NEAR(norm, std::sqrt(6 * 9.0 + 2 * 16.0), 1e-4);
  nn::utils::clip_grad_value_(params, 0.01);
  EXPECT_LE(fc->bias.grad().abs().max().item<double>(), 0.01 + 1e-7);
}
