// The fuzz harnesses: one per reader, each taking the raw bytes of one input.
//
// A harness feeds its bytes to a reader the way a user's program would (a
// file on disk, or bytes in memory) and then uses what came back. The only
// correct outcomes are: the reader accepts the input, or it throws a
// kiln::Error. Anything else escapes the harness and is a finding: another
// exception type, a crash, a sanitizer report, a hang, a huge allocation.
//
// The same functions run in two ways: under libFuzzer (fuzz_<name>, built by
// clang, see CMakeLists.txt), and in the normal test suite, which replays the
// seed corpus and the regression inputs (replay_test.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <kiln/core/error.h>

namespace kiln::fuzz {

enum class Outcome { kAccepted, kRejected };  // rejected: threw a kiln::Error

struct Harness {
  const char* name;  // names the corpus folder and the fuzz_<name> executable
  const char* what;
  Outcome (*run)(const uint8_t* data, size_t size);
};

const std::vector<Harness>& all_harnesses();
// The harness called `name`; throws std::invalid_argument when there is none.
const Harness& harness_named(const std::string& name);

// A scratch directory of this process (removed at exit) and a file in it
// holding `size` bytes; returns the file's path.
const std::string& scratch_dir();
std::string write_scratch(const std::string& name, const uint8_t* data, size_t size);

// Runs fn: kAccepted when it returns, kRejected when it throws a kiln::Error.
template <class Fn>
Outcome accepts(Fn&& fn) {
  try {
    fn();
    return Outcome::kAccepted;
  } catch (const kiln::Error&) {
    return Outcome::kRejected;
  }
}

// Harness entry points (one file each).
Outcome run_idx(const uint8_t* data, size_t size);
Outcome run_mnist(const uint8_t* data, size_t size);
Outcome run_cifar(const uint8_t* data, size_t size);
Outcome run_safetensors_bytes(const uint8_t* data, size_t size);
Outcome run_safetensors_file(const uint8_t* data, size_t size);
Outcome run_checkpoint(const uint8_t* data, size_t size);

// A broken property, e.g. a file that loads but does not survive a save/load
// round trip. Deliberately not a kiln::Error: it escapes the harness, so
// libFuzzer reports a crash and the replay test a failure.
[[noreturn]] void property_failed(const char* harness, const std::string& what);

}  // namespace kiln::fuzz
