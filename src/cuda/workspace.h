// Scratch device memory for kernels and library calls (split reductions,
// f16 pooling gradients, cuDNN algorithms): a move-only owner of a block of
// the device's caching allocator, taken on the device's current stream and
// given back when the owner goes out of scope. Giving it back is
// stream-ordered: work queued later on the same stream may reuse the block
// at once, work already queued still sees it.
#pragma once
#include <cstddef>

namespace kiln::cuda {

class Workspace {
 public:
  Workspace() = default;
  // `bytes` (0 gives no memory and a null data()) on `device`'s current stream.
  Workspace(int device, size_t bytes);
  ~Workspace();
  Workspace(Workspace&& other) noexcept;
  Workspace& operator=(Workspace&& other) noexcept;
  Workspace(const Workspace&) = delete;
  Workspace& operator=(const Workspace&) = delete;

  void* data() const { return ptr_; }
  size_t size() const { return bytes_; }

 private:
  void release() noexcept;
  int device_ = -1;
  void* ptr_ = nullptr;
  size_t bytes_ = 0;
};

}  // namespace kiln::cuda
