// See sentinel_guard.h.
#include "ops/sentinel_guard.h"

#include <kiln/kiln.h>

#include <cstdio>
#include <cstring>
#include <mutex>

#include "backend/backend.h"
#include "core/allocator.h"
#include "core/tensor_impl.h"

namespace kiln::testing {

namespace {

constexpr unsigned char kPattern = 0xa5;

// A tensor over `bytes` bytes at p on `device` that owns nothing.
Tensor bytes_at(void* p, size_t bytes, const Device& device) {
  auto impl = std::make_shared<detail::TensorImpl>();
  impl->storage = std::make_shared<detail::Storage>(p, bytes, device, nullptr);
  impl->sizes = {static_cast<int64_t>(bytes)};
  impl->strides = {1};
  impl->dtype = kUInt8;
  impl->numel = static_cast<int64_t>(bytes);
  return Tensor(std::move(impl));
}

void write_pattern(void* p, const Device& device) {
  if (device.is_cpu()) {
    std::memset(p, kPattern, SentinelGuard::kSentinelBytes);
    return;
  }
  Tensor host = full({static_cast<int64_t>(SentinelGuard::kSentinelBytes)}, kPattern, kUInt8);
  Tensor tail = bytes_at(p, SentinelGuard::kSentinelBytes, device);
  detail::backend_for(device).transfer(host, tail, /*non_blocking=*/false);
}

// The sentinel's bytes as they are now.
std::vector<unsigned char> read_pattern(void* p, const Device& device) {
  std::vector<unsigned char> got(SentinelGuard::kSentinelBytes);
  if (device.is_cpu()) {
    std::memcpy(got.data(), p, got.size());
    return got;
  }
  Tensor host = empty({static_cast<int64_t>(got.size())}, kUInt8);
  Tensor tail = bytes_at(p, got.size(), device);
  detail::backend_for(device).transfer(tail, host, /*non_blocking=*/false);
  std::memcpy(got.data(), host.raw_data_ptr(), got.size());
  return got;
}

}  // namespace

struct SentinelGuard::State {
  std::mutex mutex;
  std::vector<std::string> violations;
  void report(std::string what) {
    std::lock_guard<std::mutex> lock(mutex);
    violations.push_back(std::move(what));
  }
};

namespace {

class GuardedAllocator final : public detail::Allocator {
 public:
  GuardedAllocator(detail::Allocator* inner, std::shared_ptr<SentinelGuard::State> state)
      : inner_(inner), state_(std::move(state)) {}

  std::shared_ptr<detail::Storage> allocate(size_t nbytes, Device device) override {
    std::shared_ptr<detail::Storage> base = inner_->allocate(nbytes + SentinelGuard::kSentinelBytes, device);
    char* tail = static_cast<char*>(base->data) + nbytes;
    write_pattern(tail, device);
    auto state = state_;
    return std::make_shared<detail::Storage>(base->data, nbytes, device, [base, tail, nbytes, device, state](void*) {
      try {
        const std::vector<unsigned char> got = read_pattern(tail, device);
        for (size_t i = 0; i < got.size(); ++i) {
          if (got[i] == kPattern) continue;
          char hex[8];
          std::snprintf(hex, sizeof hex, "0x%02x", got[i]);
          state->report(detail::str_cat(device, " block of ", nbytes, " bytes: byte ", i, " past the end is ", hex,
                                        ", not 0xa5"));
          break;
        }
      } catch (const std::exception& e) {
        state->report(detail::str_cat(device, " block of ", nbytes, " bytes: sentinel unreadable: ", e.what()));
      }
    });
  }

 private:
  detail::Allocator* inner_;
  std::shared_ptr<SentinelGuard::State> state_;
};

struct Installed {
  DeviceType type;
  detail::Allocator* previous;
  std::unique_ptr<GuardedAllocator> guard;
};

// Guards live as long as a storage they made may (the process): a storage
// freed after its SentinelGuard still calls into it.
std::vector<std::unique_ptr<GuardedAllocator>>& retired() {
  static auto* r = new std::vector<std::unique_ptr<GuardedAllocator>>();
  return *r;
}

std::vector<Installed>& installed() {
  static std::vector<Installed> v;
  return v;
}

}  // namespace

SentinelGuard::SentinelGuard() : state_(std::make_shared<State>()) {
  std::vector<DeviceType> types = {DeviceType::CPU};
  if (cuda::is_available()) types.push_back(DeviceType::CUDA);
  for (DeviceType t : types) {
    detail::Allocator* inner = &detail::allocator_for(Device(t, 0));
    auto guard = std::make_unique<GuardedAllocator>(inner, state_);
    detail::Allocator* previous = detail::set_allocator(t, guard.get());
    installed().push_back({t, previous, std::move(guard)});
  }
}

SentinelGuard::~SentinelGuard() {
  for (Installed& i : installed()) {
    detail::set_allocator(i.type, i.previous);
    retired().push_back(std::move(i.guard));
  }
  installed().clear();
}

std::vector<std::string> SentinelGuard::violations() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->violations;
}

}  // namespace kiln::testing
