// CPU memory, copies, fills and the backend registry.
#include "cpu/cpu_backend.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "cpu/loops.h"

namespace kiln::cpu {

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

}  // namespace

std::shared_ptr<detail::Storage> CpuBackend::allocate(size_t nbytes, Device device) {
  // 64-byte alignment suits AVX-512 loads and cache lines.
  const size_t rounded = (std::max<size_t>(nbytes, 1) + 63) / 64 * 64;
  if (rounded < LargeBlockCache::kMinBytes) {
    void* p = std::aligned_alloc(64, rounded);
    KILN_CHECK(p != nullptr, Error, "cpu allocator: out of memory allocating ", nbytes, " bytes");
    return std::make_shared<detail::Storage>(p, nbytes, device, [](void* q) { std::free(q); });
  }
  void* p = large_block_cache().get(rounded);
  if (!p) p = std::aligned_alloc(64, rounded);
  KILN_CHECK(p != nullptr, Error, "cpu allocator: out of memory allocating ", nbytes, " bytes");
  return std::make_shared<detail::Storage>(p, nbytes, device,
                                           [rounded](void* q) { large_block_cache().put(q, rounded); });
}

void CpuBackend::copy(const Tensor& src, Tensor& dst) {
  if (src.dtype() == dst.dtype() && src.is_contiguous() && dst.is_contiguous() && src.sizes() == dst.sizes()) {
    std::memcpy(dst.raw_data_ptr(), src.raw_data_ptr(), dst.numel() * dst.element_size());
    return;
  }
  visit_dtype(dst.dtype(), [&](auto out_tag) {
    using TOut = decltype(out_tag);
    visit_dtype(src.dtype(), [&](auto in_tag) {
      using TIn = decltype(in_tag);
      map_elements<TOut, TIn>(dst, {&src}, [](auto v) {
        if constexpr (std::is_same_v<TOut, bool>) return v != decltype(v)(0);
        else return static_cast<opmath_t<TOut>>(v);
      });
    });
  });
}

void CpuBackend::transfer(const Tensor& src, Tensor& dst, bool) {
  KILN_CHECK(src.device().is_cpu() && dst.device().is_cpu(), DeviceError, "transfer: the cpu backend copies only ",
             "between cpu tensors, got ", src.device(), " -> ", dst.device());
  copy(src, dst);
}

void CpuBackend::fill(Tensor& out, const Scalar& value) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const T v = value.to<T>();
    map_elements<T>(out, {}, [v]() { return static_cast<opmath_t<T>>(v); });
  });
}

void CpuBackend::arange(Tensor& out, double start, double step) {
  visit_dtype(out.dtype(), [&](auto tag) {
    using T = decltype(tag);
    T* p = static_cast<T*>(out.raw_data_ptr());
    for (int64_t i = 0; i < out.numel(); ++i) p[i] = static_cast<T>(static_cast<opmath_t<T>>(start + step * i));
  });
}

}  // namespace kiln::cpu

namespace kiln::detail {

Backend& cpu_backend() {
  static cpu::CpuBackend backend;
  return backend;
}

// Provided by src/cuda when kiln is built with CUDA.
#if KILN_WITH_CUDA
Backend& cuda_backend(const Device& device);
#endif

Backend& backend_for(const Device& device) {
  if (device.is_cpu()) return cpu_backend();
#if KILN_WITH_CUDA
  return cuda_backend(device);
#else
  throw DeviceError(str_cat("device ", device, ": kiln was built without CUDA (configure with -DKILN_CUDA=ON)"));
#endif
}

}  // namespace kiln::detail
