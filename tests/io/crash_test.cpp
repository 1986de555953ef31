// Crash safety of checkpoint saving, tested from outside: a child process
// saves checkpoints in a loop and the parent SIGKILLs it at a random moment,
// many times over. After every kill the file on disk must load and be one
// complete saved state, never a mix or a torn file. The library has no hook
// for this; the kill lands wherever the child happens to be (writing, in
// fsync, renaming, cleaning up). Also: the stray "<path>.tmp.<pid>" files the
// killed saves leave are removed by the next save.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <kiln/io/io.h>
#include <kiln/kiln.h>

namespace {

using kiln::Tensor;
namespace io = kiln::io;

class TempDir {
 public:
  TempDir() {
    char tmpl[] = "/tmp/kiln_crash_test_XXXXXX";
    path_ = mkdtemp(tmpl);
  }
  ~TempDir() { std::system(("rm -rf '" + path_ + "'").c_str()); }
  std::string file(const std::string& name) const { return path_ + "/" + name; }
  const std::string& path() const { return path_; }

  // Names in the directory that start with `prefix`.
  std::vector<std::string> names_starting(const std::string& prefix) const {
    std::vector<std::string> out;
    DIR* d = opendir(path_.c_str());
    while (const dirent* e = d ? readdir(d) : nullptr) {
      const std::string n = e->d_name;
      if (n.compare(0, prefix.size(), prefix) == 0) out.push_back(n);
    }
    if (d) closedir(d);
    return out;
  }

 private:
  std::string path_;
};

// Checkpoint number k: every value derives from k, so a loaded file can be
// checked against the complete state it claims to be. The tensors wrap
// vectors (from_blob) so that the forked child builds them without running
// a parallel kernel, which is not safe after fork.
constexpr int64_t kElements = 1 << 16;  // 256 KiB per tensor, 768 KiB a file: a save takes milliseconds

struct Numbered {
  std::vector<float> weights, moments;
  std::vector<int64_t> counts;
  io::TrainingState state;
};

void make_state(int64_t k, Numbered& n) {
  n.weights.assign(kElements, static_cast<float>(k));
  n.moments.assign(kElements, static_cast<float>(k) * 0.5f);
  n.counts.assign(kElements / 2, k);
  n.state = {};
  n.state.model = {{"w", kiln::from_blob(n.weights.data(), {kElements})},
                   {"n", kiln::from_blob(n.counts.data(), {kElements / 2}, kiln::kInt64)}};
  n.state.optimizer.tensors = {{"state.0.exp_avg", kiln::from_blob(n.moments.data(), {kElements})}};
  n.state.optimizer.metadata = {{"optimizer", "Adam"}, {"state.0.step", std::to_string(k)}};
  n.state.scheduler = {{"last_epoch", std::to_string(k)}};
  n.state.step = k;
  n.state.epoch = k / 3;
  n.state.rng = {static_cast<uint64_t>(k) * 7, static_cast<uint64_t>(k) * 11};
  n.state.metadata = {{"k", std::to_string(k)}};
}

// Empty when `s` is exactly checkpoint number s.step, else what differs.
std::string mismatch_with_its_number(const io::TrainingState& s) {
  Numbered want;
  make_state(s.step, want);
  const io::TrainingState& w = want.state;
  if (s.epoch != w.epoch || s.rng.seed != w.rng.seed || s.rng.offset != w.rng.offset) return "counters";
  if (s.metadata != w.metadata || s.scheduler != w.scheduler || s.optimizer.metadata != w.optimizer.metadata)
    return "metadata";
  if (s.model.size() != 2 || s.optimizer.tensors.size() != 1) return "tensor count";
  for (const auto& [name, t] : w.model)
    if (!kiln::equal(s.model.at(name), t)) return "model." + name;
  if (!kiln::equal(s.optimizer.tensors.at("state.0.exp_avg"), w.optimizer.tensors.at("state.0.exp_avg")))
    return "optim tensor";
  return "";
}

TEST(CheckpointCrash, KilledAtRandomMomentsTheFileIsAlwaysOneCompleteState) {
  constexpr int kKills = 120;
  TempDir dir;
  const std::string path = dir.file("run.ckpt");
  // A complete file exists before the first kill. Timing saves (the median
  // of three) scales the kill delays to this machine and disk, so kills land
  // anywhere across one to three saves.
  std::vector<int64_t> times;
  for (int i = 0; i < 3; ++i) {
    Numbered first;
    make_state(0, first);
    const auto t0 = std::chrono::steady_clock::now();
    io::save_checkpoint(path, first.state);
    times.push_back(std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0).count());
  }
  std::sort(times.begin(), times.end());
  const std::chrono::microseconds save_us(times[1]);
  std::mt19937 rng(20240612);
  std::uniform_int_distribution<int64_t> delay_us(0, std::max<int64_t>(3 * save_us.count(), 3000));
  int64_t newest = 0, kills_left_a_temporary = 0, distinct = 0;
  for (int round = 0; round < kKills; ++round) {
    const int64_t base = int64_t(round + 1) * 1000000;
    int ready[2];
    ASSERT_EQ(pipe(ready), 0);
    const pid_t child = fork();
    ASSERT_GE(child, 0);
    if (child == 0) {
      Numbered n;
      make_state(base, n);
      // Tell the parent saving starts now, so the delay counts from here and
      // not from fork (slow under ASan).
      const char go = 1;
      if (write(ready[1], &go, 1) != 1) _exit(3);
      for (int64_t k = base;; ++k) {
        try {
          io::save_checkpoint(path, n.state);
        } catch (...) {
          _exit(2);
        }
        make_state(k + 1, n);
      }
    }
    close(ready[1]);
    char go = 0;
    ASSERT_EQ(read(ready[0], &go, 1), 1) << "the saving child died before it started";
    close(ready[0]);
    usleep(static_cast<useconds_t>(delay_us(rng)));
    ASSERT_EQ(kill(child, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(child, &status, 0), child);
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        << "the saving child ended by itself (status " << status << ")";
    if (!dir.names_starting("run.ckpt.tmp." + std::to_string(child)).empty()) ++kills_left_a_temporary;

    io::TrainingState s;
    ASSERT_NO_THROW(s = io::load_checkpoint(path)) << "round " << round << ": the file does not load after a kill";
    ASSERT_EQ(mismatch_with_its_number(s), "") << "round " << round << ": checkpoint " << s.step << " is not whole";
    // It is the newest save that completed: never older than the last round's.
    EXPECT_GE(s.step, newest) << "round " << round;
    if (s.step != newest) ++distinct;
    newest = s.step;
  }
  // The kills really landed mid-save, and saves really completed between them.
  EXPECT_GT(kills_left_a_temporary, 0) << "no kill landed between creating and renaming a temporary";
  EXPECT_GT(distinct, kKills / 5) << "few rounds completed a save before the kill";
  RecordProperty("kills", kKills);
  RecordProperty("kills_mid_save", static_cast<int>(kills_left_a_temporary));
  std::printf("[ crash   ] %d kills (delays 0-%lld us, one save ~%lld us): %lld left a temporary, %lld rounds saved a "
              "newer checkpoint\n",
              kKills, static_cast<long long>(delay_us.max()), static_cast<long long>(save_us.count()),
              static_cast<long long>(kills_left_a_temporary), static_cast<long long>(distinct));

  // Every writer is dead now: the next save removes their temporaries.
  Numbered last;
  make_state(newest + 1, last);
  io::save_checkpoint(path, last.state);
  EXPECT_EQ(dir.names_starting("run.ckpt.tmp."), std::vector<std::string>{});
  EXPECT_EQ(io::load_checkpoint(path).step, newest + 1);
}

TEST(AtomicSave, RemovesOnlyTemporariesOfProcessesThatAreGone) {
  TempDir dir;
  const std::string path = dir.file("w.safetensors");
  // A pid that is certainly gone: a child that has exited and been reaped.
  const pid_t gone = fork();
  if (gone == 0) _exit(0);
  ASSERT_GT(gone, 0);
  waitpid(gone, nullptr, 0);
  const std::string stale = path + ".tmp." + std::to_string(gone);
  const std::string live = path + ".tmp." + std::to_string(getppid());  // our parent is alive
  const std::string other = dir.file("x.safetensors.tmp." + std::to_string(gone));  // another file's
  const std::string odd = path + ".tmp.notapid";
  for (const auto& f : {stale, live, other, odd}) io::save_safetensors(f, {{"w", kiln::zeros({1})}});
  io::save_safetensors(path, {{"w", kiln::ones({2})}});
  EXPECT_NE(access(stale.c_str(), F_OK), 0) << "the stale temporary was left";
  for (const auto& f : {live, other, odd}) EXPECT_EQ(access(f.c_str(), F_OK), 0) << f << " was removed";
  EXPECT_EQ(io::load_safetensors(path).tensors.at("w").numel(), 2);
}

}  // namespace
