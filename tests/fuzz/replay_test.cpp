// The normal test suite's share of fuzzing: every input under
// tests/fuzz/corpus/<folder>/ (small valid files from tools/fuzz-corpus.py)
// must be accepted, and every input under tests/fuzz/regressions/<folder>/
// (each once a crash, sanitizer report or silent misread; tools/fuzz-corpus.py
// says which) must be rejected with a kiln::Error, by every harness that
// reads that folder. A harness's other exceptions fail the case.
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "harness.h"

namespace {

namespace fs = std::filesystem;
using kiln::fuzz::Harness;
using kiln::fuzz::Outcome;

struct Case {
  const Harness* harness;
  std::string kind;  // "corpus" or "regressions"
  fs::path file;
};

// The folder of inputs a harness reads: the two safetensors harnesses share one.
std::string folder_of(const Harness& h) {
  const std::string name = h.name;
  return name.rfind("safetensors", 0) == 0 ? "safetensors" : name;
}

std::vector<Case> all_cases() {
  std::vector<Case> cases;
  for (const Harness& h : kiln::fuzz::all_harnesses()) {
    for (const char* kind : {"corpus", "regressions"}) {
      const fs::path dir = fs::path(KILN_FUZZ_DATA_DIR) / kind / folder_of(h);
      if (!fs::is_directory(dir)) continue;
      std::vector<fs::path> files;
      for (const auto& e : fs::directory_iterator(dir))
        if (e.is_regular_file() && e.path().filename() != "README.md") files.push_back(e.path());
      std::sort(files.begin(), files.end());
      for (const auto& f : files) cases.push_back({&h, kind, f});
    }
  }
  return cases;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string s = std::string(info.param.harness->name) + "_" + info.param.kind + "_" + info.param.file.filename().string();
  for (char& c : s)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return s;
}

std::vector<uint8_t> read_bytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class FuzzInput : public ::testing::TestWithParam<Case> {};

TEST_P(FuzzInput, GivesTheExpectedOutcome) {
  const Case& c = GetParam();
  const std::vector<uint8_t> bytes = read_bytes(c.file);
  const Outcome got = c.harness->run(bytes.data(), bytes.size());
  if (c.kind == "corpus") {
    EXPECT_EQ(got, Outcome::kAccepted) << c.file << " is a seed and should be a valid input for " << c.harness->name;
  } else {
    EXPECT_EQ(got, Outcome::kRejected) << c.file << " should be rejected with a kiln::Error by " << c.harness->name;
  }
}

INSTANTIATE_TEST_SUITE_P(Replay, FuzzInput, ::testing::ValuesIn(all_cases()), case_name);

TEST(FuzzCorpus, EveryHarnessHasSeeds) {
  for (const Harness& h : kiln::fuzz::all_harnesses()) {
    const fs::path dir = fs::path(KILN_FUZZ_DATA_DIR) / "corpus" / folder_of(h);
    EXPECT_TRUE(fs::is_directory(dir) && !fs::is_empty(dir)) << "no seed corpus for harness " << h.name << " at " << dir;
  }
}

}  // namespace
