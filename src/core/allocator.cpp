// The allocator registry and the CPU allocator (see allocator.h).
#include "core/allocator.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "kiln/core/error.h"

namespace kiln::detail {

namespace {

// Keeps freed large blocks for reuse. glibc serves blocks of this size with
// fresh mmap()s and unmaps them on free, so every training step paid for
// page faults and kernel page clearing on its activations and gradients
// (about a fifth of the CPU step time of the Fashion-MNIST CNN). A step
// allocates the same sizes every time, so blocks are matched by exact
// rounded size. At most kMaxCachedBytes sit unused in the cache; beyond
// that, freed blocks go back to the system.
class LargeBlockCache {
 public:
  static constexpr size_t kMinBytes = size_t{64} << 10;
  static constexpr size_t kMaxCachedBytes = size_t{256} << 20;

  void* get(size_t rounded) {
    std::lock_guard<std::mutex> lock(mutex_);
    auto it = free_.find(rounded);
    if (it == free_.end() || it->second.empty()) return nullptr;
    void* p = it->second.back();
    it->second.pop_back();
    cached_bytes_ -= rounded;
    return p;
  }
  void put(void* p, size_t rounded) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (cached_bytes_ + rounded <= kMaxCachedBytes) {
        free_[rounded].push_back(p);
        cached_bytes_ += rounded;
        return;
      }
    }
    std::free(p);
  }

 private:
  std::mutex mutex_;
  std::unordered_map<size_t, std::vector<void*>> free_;
  size_t cached_bytes_ = 0;
};

// Never destroyed: storages freed during static destruction still return here.
LargeBlockCache& large_block_cache() {
  static auto* cache = new LargeBlockCache();
  return *cache;
}

class CpuAllocator final : public Allocator {
 public:
  std::shared_ptr<Storage> allocate(size_t nbytes, Device device) override;
};

std::shared_ptr<Storage> CpuAllocator::allocate(size_t nbytes, Device device) {
  // 64-byte alignment suits AVX-512 loads and cache lines.
  const size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
  if (rounded < LargeBlockCache::kMinBytes) {
    void* p = std::aligned_alloc(64, rounded);
    KILN_CHECK(p != nullptr, Error, "cpu allocator: out of memory allocating ", nbytes, " bytes");
    return std::make_shared<Storage>(p, nbytes, device, [](void* q) { std::free(q); });
  }
  void* p = large_block_cache().get(rounded);
  if (!p) p = std::aligned_alloc(64, rounded);
  KILN_CHECK(p != nullptr, Error, "cpu allocator: out of memory allocating ", nbytes, " bytes");
  return std::make_shared<Storage>(p, nbytes, device, [rounded](void* q) { large_block_cache().put(q, rounded); });
}

constexpr size_t kDeviceTypes = 2;  // DeviceType::CPU, DeviceType::CUDA

// Constant-initialised, so a registration from another file's static
// initialiser can never run before it.
std::array<std::atomic<Allocator*>, kDeviceTypes> g_allocators{};

Allocator* cpu_allocator() {
  static auto* a = new CpuAllocator();  // never destroyed, like the block cache
  return a;
}

}  // namespace

Allocator& allocator_for(const Device& device) {
  const size_t t = static_cast<size_t>(device.type());
  Allocator* a = t < kDeviceTypes ? g_allocators[t].load() : nullptr;
  if (a == nullptr && device.is_cpu()) a = cpu_allocator();
  KILN_CHECK(a != nullptr, DeviceError, "device ", device,
             ": kiln was built without CUDA (configure with -DKILN_CUDA=ON)");
  return *a;
}

Allocator* set_allocator(DeviceType type, Allocator* allocator) {
  const size_t t = static_cast<size_t>(type);
  KILN_INTERNAL_ASSERT(t < kDeviceTypes, "set_allocator: unknown device type");
  Allocator* previous = g_allocators[t].exchange(allocator);
  return previous == nullptr && type == DeviceType::CPU ? cpu_allocator() : previous;
}

}  // namespace kiln::detail

