// Whether ops record autograd history on this thread.
#pragma once

namespace kiln {

class GradMode {
 public:
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

// Disables recording while alive: kiln::NoGradGuard no_grad;
class NoGradGuard {
 public:
  NoGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(false); }
  ~NoGradGuard() { GradMode::set_enabled(prev_); }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool prev_;
};

// Enables recording while alive (inside a NoGradGuard, say).
class EnableGradGuard {
 public:
  EnableGradGuard() : prev_(GradMode::is_enabled()) { GradMode::set_enabled(true); }
  ~EnableGradGuard() { GradMode::set_enabled(prev_); }
  EnableGradGuard(const EnableGradGuard&) = delete;
  EnableGradGuard& operator=(const EnableGradGuard&) = delete;

 private:
  bool prev_;
};
// Python's torch.enable_grad, as a guard: kiln::enable_grad guard;
using enable_grad = EnableGradGuard;

// Sets recording on or off while alive, as LibTorch's AutoGradMode:
// kiln::AutoGradMode mode(false);
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : prev_(GradMode::is_enabled()) { GradMode::set_enabled(enabled); }
  ~AutoGradMode() { GradMode::set_enabled(prev_); }
  AutoGradMode(const AutoGradMode&) = delete;
  AutoGradMode& operator=(const AutoGradMode&) = delete;

 private:
  bool prev_;
};

// LibTorch also spells these torch::autograd::GradMode, ...
namespace autograd {
using kiln::AutoGradMode;
using kiln::EnableGradGuard;
using kiln::GradMode;
using kiln::NoGradGuard;
}  // namespace autograd

}  // namespace kiln
