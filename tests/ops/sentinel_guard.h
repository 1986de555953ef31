// ggml's sentinel tensors, for kiln's allocators: while a SentinelGuard is
// alive, every tensor allocation on the CPU and on a GPU gets kSentinelBytes
// of a known pattern after its last byte, and the pattern is checked when the
// storage is freed. A kernel that writes past the end of its output (a
// vectorised tail, a wrong bound) changes the pattern; the guard counts and
// describes each such block. Test-only: the library's Allocator registry
// (src/core/allocator.h) is what lets a test wrap the allocators.
#pragma once
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace kiln::testing {

class SentinelGuard {
 public:
  static constexpr size_t kSentinelBytes = 64;

  SentinelGuard();   // wraps the CPU allocator and, when built and present, the CUDA one
  ~SentinelGuard();  // puts the wrapped allocators back
  SentinelGuard(const SentinelGuard&) = delete;
  SentinelGuard& operator=(const SentinelGuard&) = delete;

  // Blocks freed so far whose sentinel had changed ("cuda:0 block of 24
  // bytes: byte 0 past the end is 0x00, not 0xa5").
  std::vector<std::string> violations() const;

  struct State;  // shared with the guarded allocators (sentinel_guard.cpp)

 private:
  std::shared_ptr<State> state_;
};

}  // namespace kiln::testing
