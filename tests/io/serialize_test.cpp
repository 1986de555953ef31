// kiln::save / kiln::load (kiln/io/serialize.h): every kind round trips,
// a module file is a plain safetensors file, and the wrong kind of file is
// a clear error.
#include <gtest/gtest.h>

#include <cstdlib>
#include <memory>
#include <string>

#include <kiln/kiln.h>
#include <kiln/optim/optim.h>

namespace kiln {
namespace {

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln_serialize_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

// A small network as a LibTorch program declares one.
struct NetImpl : nn::Module {
  NetImpl() {
    fc1 = register_module("fc1", nn::Linear(4, 3));
    bn = register_module("bn", nn::BatchNorm2d(3));
    fc2 = register_module("fc2", nn::Linear(3, 2));
  }
  Tensor forward(const Tensor& x) { return fc2(relu(fc1(x))); }
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::BatchNorm2d bn{nullptr};
};
using Net = nn::ModuleHolder<NetImpl>;

void expect_same_state(const nn::Module& a, const nn::Module& b) {
  const StateDict sa = a.state_dict(), sb = b.state_dict();
  ASSERT_EQ(sa.size(), sb.size());
  for (const auto& [name, t] : sa) {
    ASSERT_TRUE(sb.count(name)) << name;
    EXPECT_TRUE(equal(t, sb.at(name))) << name;
  }
}

TEST(Serialize, ModuleRoundTripsThroughAHolderAndASharedPtr) {
  TempDir dir;
  manual_seed(1);
  Net saved;
  {
    NoGradGuard no_grad;
    saved->bn->named_buffers().begin()->second.fill_(7);  // a buffer too
  }
  save(saved, dir.file("net.safetensors"));
  manual_seed(2);
  Net loaded;
  EXPECT_FALSE(equal(saved->fc1->weight, loaded->fc1->weight));
  load(loaded, dir.file("net.safetensors"));
  expect_same_state(*saved, *loaded);
  // A std::shared_ptr, as a program using std::make_shared writes it.
  auto ptr = std::make_shared<NetImpl>();
  load(ptr, dir.file("net.safetensors"));
  expect_same_state(*saved, *ptr);
  save(ptr, dir.file("ptr.safetensors"));
  // The file is plain safetensors: io:: reads the state_dict back.
  io::SafetensorsContents file = io::load_safetensors(dir.file("ptr.safetensors"));
  EXPECT_EQ(file.metadata.at("kiln.kind"), "module");
  EXPECT_TRUE(file.tensors.count("fc1.weight"));
  EXPECT_TRUE(equal(file.tensors.at("fc2.bias"), saved->fc2->bias));
}

TEST(Serialize, LoadingIntoAModuleOfOtherShapesChangesNothing) {
  TempDir dir;
  nn::Linear small(2, 2), big(3, 3);
  save(small, dir.file("small.safetensors"));
  Tensor before = big->weight.clone();
  EXPECT_THROW(load(big, dir.file("small.safetensors")), ValueError);
  EXPECT_TRUE(equal(big->weight, before));
}

TEST(Serialize, TensorAndTensorListRoundTrip) {
  TempDir dir;
  Tensor x = randn({3, 4}).to(kFloat64);
  save(x, dir.file("x.safetensors"));
  Tensor y;
  load(y, dir.file("x.safetensors"));
  EXPECT_EQ(y.dtype(), kFloat64);
  EXPECT_TRUE(equal(x, y));
  // Eleven tensors: "10" sorts before "2" as a string, the order must still hold.
  std::vector<Tensor> list;
  for (int i = 0; i < 11; ++i) list.push_back(full({i + 1}, i, kInt64));
  list.push_back(ones({2, 2}, kBFloat16).t());  // strided and low precision
  save(list, dir.file("list.safetensors"));
  std::vector<Tensor> back;
  load(back, dir.file("list.safetensors"));
  ASSERT_EQ(back.size(), list.size());
  for (size_t i = 0; i < list.size(); ++i) EXPECT_TRUE(equal(back[i], list[i])) << i;
  EXPECT_THROW(save(Tensor(), dir.file("undef.safetensors")), ValueError);
}

TEST(Serialize, OptimizerStateRoundTrips) {
  TempDir dir;
  manual_seed(3);
  nn::Linear model(4, 2);
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
  for (int i = 0; i < 3; ++i) {
    opt.zero_grad();
    model(randn({5, 4})).pow(2).sum().backward();
    opt.step();
  }
  save(opt, dir.file("opt.safetensors"));
  nn::Linear model2(4, 2);
  optim::Adam opt2(model2->parameters(), optim::AdamOptions(0.5));
  load(opt2, dir.file("opt.safetensors"));
  const optim::OptimizerState a = opt.state_dict(), b = opt2.state_dict();
  EXPECT_EQ(a.metadata, b.metadata);
  ASSERT_EQ(a.tensors.size(), b.tensors.size());
  for (const auto& [name, t] : a.tensors) EXPECT_TRUE(equal(t, b.tensors.at(name))) << name;
}

TEST(Serialize, TheWrongKindOfFileIsAnIOError) {
  TempDir dir;
  nn::Linear model(2, 2);
  save(model, dir.file("model.safetensors"));
  save(ones({2}), dir.file("one.safetensors"));
  Tensor t;
  std::vector<Tensor> v;
  optim::SGD sgd(model->parameters(), optim::SGDOptions(0.1));
  try {
    load(t, dir.file("model.safetensors"));
    FAIL() << "no error";
  } catch (const IOError& e) {
    EXPECT_NE(std::string(e.what()).find("module"), std::string::npos) << e.what();
  }
  EXPECT_THROW(load(v, dir.file("model.safetensors")), IOError);
  EXPECT_THROW(load(sgd, dir.file("one.safetensors")), IOError);
  EXPECT_THROW(load(model, dir.file("one.safetensors")), IOError);
  EXPECT_THROW(load(t, dir.file("missing.safetensors")), IOError);
  // A file without "kiln.kind" (as another tool writes it) loads where it fits.
  io::save_safetensors(dir.file("plain.safetensors"), {{"w", ones({3})}});
  load(t, dir.file("plain.safetensors"));
  EXPECT_EQ(t.numel(), 3);
  EXPECT_THROW(load(v, dir.file("plain.safetensors")), IOError) << "names are not 0 .. n-1";
}

}  // namespace
}  // namespace kiln
