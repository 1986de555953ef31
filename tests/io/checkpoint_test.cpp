// Training checkpoints: every field round trips, mismatches are reported
// together, and a run resumed from a checkpoint is bitwise identical to an
// uninterrupted one.
#include <gtest/gtest.h>

#include <cstdlib>
#include <string>

#include <kiln/io/io.h>
#include <kiln/kiln.h>
#include <kiln/optim/optim.h>

namespace {

using kiln::Tensor;
namespace io = kiln::io;
namespace optim = kiln::optim;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln_ckpt_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

TEST(Checkpoint, EveryFieldRoundTrips) {
  TempDir dir;
  io::TrainingState s;
  s.model = {{"fc.weight", kiln::randn({3, 2})}, {"fc.bias", kiln::zeros({3}, kiln::kFloat64)}};
  s.optimizer.tensors = {{"state.0.exp_avg", kiln::ones({3, 2})}};
  s.optimizer.metadata = {{"optimizer", "Adam"}, {"group.0.lr", "0.001"}};
  s.scheduler = {{"scheduler", "StepLR"}, {"last_epoch", "4"}};
  s.step = 1234;
  s.epoch = 5;
  s.rng = {0xFFFFFFFFFFFFFFF1ull, 987654321ull};
  s.data_loader = {{"batch", "17"}};
  s.metadata = {{"note", "hello"}};
  io::save_checkpoint(dir.file("c.safetensors"), s);
  io::TrainingState l = io::load_checkpoint(dir.file("c.safetensors"));
  ASSERT_EQ(l.model.size(), 2u);
  EXPECT_TRUE(kiln::equal(l.model.at("fc.weight"), s.model.at("fc.weight")));
  EXPECT_EQ(l.model.at("fc.bias").dtype(), kiln::kFloat64);
  EXPECT_TRUE(kiln::equal(l.optimizer.tensors.at("state.0.exp_avg"), kiln::ones({3, 2})));
  EXPECT_EQ(l.optimizer.metadata, s.optimizer.metadata);
  EXPECT_EQ(l.scheduler, s.scheduler);
  EXPECT_EQ(l.step, 1234);
  EXPECT_EQ(l.epoch, 5);
  EXPECT_EQ(l.rng.seed, s.rng.seed);
  EXPECT_EQ(l.rng.offset, s.rng.offset);
  EXPECT_EQ(l.data_loader, s.data_loader);
  EXPECT_EQ(l.metadata, s.metadata);
  // The weights stay readable as a plain safetensors file.
  EXPECT_TRUE(io::load_safetensors(dir.file("c.safetensors")).tensors.count("model.fc.weight"));
}

TEST(Checkpoint, APlainSafetensorsFileIsNotACheckpoint) {
  TempDir dir;
  io::save_safetensors(dir.file("w.safetensors"), {{"w", kiln::zeros({1})}});
  try {
    io::load_checkpoint(dir.file("w.safetensors"));
    ADD_FAILURE() << "expected IOError";
  } catch (const kiln::IOError& e) {
    EXPECT_NE(std::string(e.what()).find("not a kiln checkpoint"), std::string::npos) << e.what();
  }
}

TEST(Checkpoint, LoadStateDictCheckedReportsEveryMismatchInOneError) {
  kiln::StateDict expected = {{"a", kiln::zeros({2, 3})}, {"b", kiln::zeros({4})}, {"c", kiln::zeros({1})}};
  kiln::StateDict loaded = {{"a", kiln::zeros({3, 2})}, {"b", kiln::zeros({4}, kiln::kFloat64)}, {"d", kiln::zeros({1})}};
  try {
    io::load_state_dict_checked(expected, loaded);
    ADD_FAILURE() << "expected an error";
  } catch (const kiln::Error& e) {
    const std::string msg = e.what();
    for (const char* part : {"\"a\": shape [3, 2] but expected [2, 3]", "\"b\": dtype float64 but expected float32",
                             "missing \"c\"", "unexpected \"d\""})
      EXPECT_NE(msg.find(part), std::string::npos) << "no \"" << part << "\" in: " << msg;
  }
  EXPECT_EQ(io::state_dict_mismatches(expected, loaded).size(), 4u);
}

TEST(Checkpoint, LoadStateDictCheckedCopiesIntoTheExpectedTensors) {
  Tensor w = kiln::zeros({2}).requires_grad_();
  io::load_state_dict_checked({{"w", w}}, {{"w", kiln::tensor({3.0f, 4.0f})}});
  EXPECT_EQ(w.to_vector<float>(), (std::vector<float>{3.0f, 4.0f}));
  EXPECT_TRUE(w.requires_grad());
}

TEST(Checkpoint, LoadWithAnExpectedModelRejectsAMismatch) {
  TempDir dir;
  io::TrainingState s;
  s.model = {{"w", kiln::zeros({2})}};
  io::save_checkpoint(dir.file("c"), s);
  EXPECT_NO_THROW(io::load_checkpoint(dir.file("c"), kiln::kCPU, {{"w", kiln::ones({2})}}));
  EXPECT_THROW(io::load_checkpoint(dir.file("c"), kiln::kCPU, {{"w", kiln::ones({3})}}), kiln::ValueError);
}

// --- exact resume -----------------------------------------------------------------

// A 2-layer MLP made of raw tensors, trained with random multiplicative noise
// drawn from kiln's generator on every step (so the RNG state matters).
struct Mlp {
  Tensor w1, b1, w2, b2;
  std::vector<Tensor> params() const { return {w1, b1, w2, b2}; }
  kiln::StateDict state_dict() const { return {{"w1", w1}, {"b1", b1}, {"w2", w2}, {"b2", b2}}; }
};

Mlp make_mlp(uint64_t seed) {
  kiln::manual_seed(seed);
  Mlp m;
  m.w1 = (kiln::randn({4, 8}) * 0.5).detach().requires_grad_();
  m.b1 = kiln::zeros({8}).requires_grad_();
  m.w2 = (kiln::randn({8, 1}) * 0.5).detach().requires_grad_();
  m.b2 = kiln::zeros({1}).requires_grad_();
  return m;
}

struct Data {
  Tensor x, y;
};
Data make_data() {
  kiln::manual_seed(99);
  Data d;
  d.x = kiln::randn({16, 4});
  d.y = kiln::randn({16, 1});
  return d;
}

void train_step(Mlp& m, const Data& d, optim::Optimizer& opt, optim::LRScheduler& sched) {
  opt.zero_grad();
  Tensor noise = kiln::rand({16, 8}) * 0.5 + 0.75;  // dropout-like, from the default generator
  Tensor h = kiln::relu(d.x.matmul(m.w1) + m.b1) * noise;
  Tensor out = h.matmul(m.w2) + m.b2;
  Tensor loss = ((out - d.y) * (out - d.y)).mean();
  loss.backward();
  optim::clip_grad_norm_(m.params(), 1.0);
  opt.step();
  sched.step();
}

TEST(Checkpoint, ResumedTrainingIsBitwiseIdenticalToAnUninterruptedRun) {
  constexpr int kSteps = 8;
  const Data data = make_data();

  // Uninterrupted.
  Mlp straight = make_mlp(5);
  optim::AdamW opt_a(straight.params(), optim::AdamWOptions(0.05).amsgrad(true));
  optim::CosineAnnealingLR sched_a(opt_a, kSteps, 0.001, 2);
  kiln::manual_seed(2024);
  for (int i = 0; i < kSteps; ++i) train_step(straight, data, opt_a, sched_a);

  // Half, checkpoint, then everything rebuilt from scratch and restored.
  TempDir dir;
  const std::string path = dir.file("resume.safetensors");
  {
    Mlp first = make_mlp(5);
    optim::AdamW opt(first.params(), optim::AdamWOptions(0.05).amsgrad(true));
    optim::CosineAnnealingLR sched(opt, kSteps, 0.001, 2);
    kiln::manual_seed(2024);
    for (int i = 0; i < kSteps / 2; ++i) train_step(first, data, opt, sched);
    io::TrainingState s;
    s.model = first.state_dict();
    s.optimizer = opt.state_dict();
    s.scheduler = sched.state_dict();
    s.step = kSteps / 2;
    s.rng = kiln::get_rng_state();
    io::save_checkpoint(path, s);
  }
  kiln::manual_seed(777);  // a different generator state, as in a new process
  Mlp resumed = make_mlp(123);  // different initial weights, overwritten by the load
  optim::AdamW opt_b(resumed.params(), optim::AdamWOptions(0.05).amsgrad(true));
  optim::CosineAnnealingLR sched_b(opt_b, kSteps, 0.001, 2);
  io::TrainingState s = io::load_checkpoint(path, kiln::kCPU, resumed.state_dict());
  io::load_state_dict_checked(resumed.state_dict(), s.model);
  opt_b.load_state_dict(s.optimizer);
  sched_b.load_state_dict(s.scheduler);
  kiln::set_rng_state(s.rng);
  EXPECT_EQ(s.step, kSteps / 2);
  for (int i = s.step; i < kSteps; ++i) train_step(resumed, data, opt_b, sched_b);

  const auto a = straight.state_dict(), b = resumed.state_dict();
  for (const auto& [name, t] : a) EXPECT_TRUE(kiln::equal(t, b.at(name))) << name << " differs after resume";
  EXPECT_EQ(sched_a.get_last_lr(), sched_b.get_last_lr());
  // And resuming without the RNG state would not have matched: the noise matters.
  EXPECT_FALSE(kiln::equal(a.at("w1"), make_mlp(5).w1));
}

TEST(Checkpoint, ResumeWithoutRestoringTheRngDiverges) {
  // Guards the test above: the training noise really depends on the generator.
  const Data data = make_data();
  Mlp a = make_mlp(5), b = make_mlp(5);
  optim::SGD oa(a.params(), optim::SGDOptions(0.1)), ob(b.params(), optim::SGDOptions(0.1));
  optim::StepLR sa(oa, 100), sb(ob, 100);
  kiln::manual_seed(1);
  train_step(a, data, oa, sa);
  kiln::manual_seed(2);
  train_step(b, data, ob, sb);
  EXPECT_FALSE(kiln::equal(a.w1, b.w1));
}

}  // namespace
