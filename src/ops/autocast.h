// Autocast as the op definitions see it (PyTorch's autocast): per thread and
// per device type, whether autocast is on and its low dtype; the casts an
// op's inputs get; the cache of parameter casts. Users reach it through
// kiln/amp/autocast.h (src/amp), which sits above the ops.
//
// An op that autocast affects starts with one line, which casts its inputs
// and calls the op again with them when one changed (the second call finds
// nothing to cast and runs the op):
//   if (auto c = detail::autocast(detail::CastPolicy::LowerPrecision, {&x, &weight, &bias}))
//     return linear(c[0], c[1], c[2]);
#pragma once
#include <cstddef>
#include <initializer_list>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/tensor.h"

namespace kiln::detail {

enum class CastPolicy {
  // matmul, linear, conv, attention: floating inputs other than f64 to the
  // low dtype (f64 stays, as in PyTorch).
  LowerPrecision,
  // softmax, norms, losses, reductions: f16/bf16 inputs to f32.
  Float32,
};

// Autocast's setting for one device type on this thread.
struct AutocastState {
  bool enabled = false;
  DType dtype = kBFloat16;  // kBFloat16 or kFloat16
};
AutocastState autocast_state(DeviceType type);
void set_autocast_state(DeviceType type, AutocastState state);

// Nesting depth of autocast guards on this thread (enabled or not): the cast
// cache is cleared when the outermost guard exits (depth back to 0).
int autocast_increment_nesting();
int autocast_decrement_nesting();
// Drops every cached cast of this thread.
void clear_autocast_cache();
// The number of casts held in this thread's cache (for tests).
size_t autocast_cache_size();

// The inputs of an op after autocast: converts to true when at least one was
// cast, and then holds every input (the unchanged ones too) in order.
class AutocastArgs {
 public:
  explicit operator bool() const { return !args_.empty(); }
  const Tensor& operator[](size_t i) const { return args_[i]; }

 private:
  friend AutocastArgs autocast(CastPolicy policy, std::initializer_list<const Tensor*> inputs);
  std::vector<Tensor> args_;
};

// Casts `inputs` (undefined ones allowed) by `policy` for the device type of
// the first defined one, when autocast is on for it; tensors on another
// device type are left as they are (the op's device check names them). With
// autocast off this is one thread-local read.
AutocastArgs autocast(CastPolicy policy, std::initializer_list<const Tensor*> inputs);

// Turns autocast off for every device type while alive, without touching the
// nesting depth or the cache: the autograd engine runs backward formulas
// under it (they run in the dtypes the forward saved, as PyTorch's do), and a
// composite op whose inner matmul is an implementation detail uses it.
class AutocastSuspend {
 public:
  AutocastSuspend();
  ~AutocastSuspend();
  AutocastSuspend(const AutocastSuspend&) = delete;
  AutocastSuspend& operator=(const AutocastSuspend&) = delete;

 private:
  AutocastState cpu_, cuda_;
};

}  // namespace kiln::detail
