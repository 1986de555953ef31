// Autocast's thread-local state, the input casts and the parameter cast
// cache (see autocast.h).
#include "ops/autocast.h"

#include <map>
#include <memory>
#include <utility>

#include "core/tensor_impl.h"
#include "kiln/core/grad_mode.h"

namespace kiln::detail {

namespace {

// A cached cast of one parameter to one dtype. The source is held weakly:
// the cache must not keep a dropped parameter alive, and a new tensor at a
// freed one's address must not find its cast.
struct CacheEntry {
  std::weak_ptr<TensorImpl> source;
  uint32_t version = 0;  // the source's storage version when cast
  Tensor cast;
};

struct ThreadAutocast {
  AutocastState cpu, cuda;
  bool any_enabled = false;  // cpu.enabled || cuda.enabled: the fast path's one read
  int nesting = 0;
  std::map<std::pair<const TensorImpl*, DType>, CacheEntry> cache;
};

thread_local ThreadAutocast tls;

AutocastState& state_of(DeviceType type) { return type == DeviceType::CUDA ? tls.cuda : tls.cpu; }

// PyTorch caches the casts of leaves that require grad (parameters), not of
// activations (new every step) nor of views.
bool cacheable(const Tensor& t) {
  return t.dtype() == kFloat32 && t.is_leaf() && t.requires_grad() && !t.unsafe_impl()->is_view;
}

// t cast to `dtype`, from the cache when it holds a cast of t's current
// values. A cast made without history (under NoGradGuard) does not serve a
// call that records one: its gradient would never reach the parameter.
Tensor cached_cast(const Tensor& t, DType dtype) {
  if (!cacheable(t)) return t.to(dtype);
  const auto key = std::make_pair(static_cast<const TensorImpl*>(t.unsafe_impl()), dtype);
  auto it = tls.cache.find(key);
  if (it != tls.cache.end()) {
    const CacheEntry& e = it->second;
    const bool same_tensor = e.source.lock().get() == t.unsafe_impl();
    const bool history_ok = e.cast.grad_fn() != nullptr || !GradMode::is_enabled();
    // An in-place write since (an optimizer step inside a long guard) bumps the version.
    if (same_tensor && e.version == t.version() && history_ok) return e.cast;
  }
  Tensor cast = t.to(dtype);
  tls.cache[key] = CacheEntry{t.impl_ptr(), t.version(), cast};
  return cast;
}

bool needs_cast(CastPolicy policy, DType have, DType low) {
  if (policy == CastPolicy::Float32) return is_low_precision(have);
  return is_floating(have) && have != kFloat64 && have != low;
}

}  // namespace

AutocastState autocast_state(DeviceType type) { return state_of(type); }

void set_autocast_state(DeviceType type, AutocastState state) {
  state_of(type) = state;
  tls.any_enabled = tls.cpu.enabled || tls.cuda.enabled;
}

int autocast_increment_nesting() { return ++tls.nesting; }
int autocast_decrement_nesting() { return --tls.nesting; }
void clear_autocast_cache() { tls.cache.clear(); }
size_t autocast_cache_size() { return tls.cache.size(); }

AutocastArgs autocast(CastPolicy policy, std::initializer_list<const Tensor*> inputs) {
  AutocastArgs out;
  if (!tls.any_enabled) return out;
  const Tensor* first = nullptr;
  for (const Tensor* t : inputs) {
    if (t != nullptr && t->defined()) {
      first = t;
      break;
    }
  }
  if (first == nullptr) return out;
  const DeviceType type = first->device().type();
  const AutocastState& state = state_of(type);
  if (!state.enabled) return out;
  std::vector<Tensor> args;
  args.reserve(inputs.size());
  bool changed = false;
  for (const Tensor* t : inputs) {
    if (t == nullptr || !t->defined() || t->device().type() != type || !needs_cast(policy, t->dtype(), state.dtype)) {
      args.push_back(t != nullptr ? *t : Tensor());
      continue;
    }
    args.push_back(policy == CastPolicy::Float32 ? t->to(kFloat32) : cached_cast(*t, state.dtype));
    changed = true;
  }
  if (changed) out.args_ = std::move(args);
  return out;
}

AutocastSuspend::AutocastSuspend() : cpu_(tls.cpu), cuda_(tls.cuda) {
  set_autocast_state(DeviceType::CPU, AutocastState{false, cpu_.dtype});
  set_autocast_state(DeviceType::CUDA, AutocastState{false, cuda_.dtype});
}

AutocastSuspend::~AutocastSuspend() {
  set_autocast_state(DeviceType::CPU, cpu_);
  set_autocast_state(DeviceType::CUDA, cuda_);
}

}  // namespace kiln::detail
