// See workspace.h.
#include "cuda/workspace.h"

#include <utility>

#include "cuda/caching_allocator.h"
#include "cuda/context.h"

namespace kiln::cuda {

Workspace::Workspace(int device, size_t bytes) : device_(device), bytes_(bytes) {
  if (bytes == 0) return;
  ptr_ = device_allocator(device).allocate(bytes, reinterpret_cast<StreamId>(current_stream(device)));
}

Workspace::~Workspace() { release(); }

Workspace::Workspace(Workspace&& other) noexcept
    : device_(other.device_), ptr_(std::exchange(other.ptr_, nullptr)), bytes_(std::exchange(other.bytes_, 0)) {}

Workspace& Workspace::operator=(Workspace&& other) noexcept {
  if (this != &other) {
    release();
    device_ = other.device_;
    ptr_ = std::exchange(other.ptr_, nullptr);
    bytes_ = std::exchange(other.bytes_, 0);
  }
  return *this;
}

void Workspace::release() noexcept {
  if (ptr_ == nullptr) return;
  try {
    device_allocator(device_).free(ptr_);
  } catch (...) {  // destructors never throw
  }
  ptr_ = nullptr;
  bytes_ = 0;
}

}  // namespace kiln::cuda
