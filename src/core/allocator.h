// Where tensor memory comes from: one Allocator per device type. The CPU's
// is here (64-byte aligned blocks, large ones cached for reuse); the CUDA
// backend registers its caching allocator when libkiln is loaded
// (src/cuda/cuda_backend_registry.cpp). make_empty allocates through
// allocator_for, so the core never reaches up to a backend.
#pragma once
#include <cstddef>
#include <memory>

#include "core/storage.h"
#include "kiln/core/device.h"

namespace kiln::detail {

class Allocator {
 public:
  virtual ~Allocator() = default;
  // At least nbytes (nbytes may be 0) on `device`; throws kiln::Error when
  // the device is unusable or out of memory.
  virtual std::shared_ptr<Storage> allocate(size_t nbytes, Device device) = 0;
};

// The allocator of a device's type; DeviceError when none is registered
// (a CUDA device in a build without CUDA).
Allocator& allocator_for(const Device& device);
// Installs `allocator` (not owned; it must outlive its use) for a device
// type and returns the one it replaces (null if none). Tests wrap the
// allocators with this (tests/ops: sentinel guards).
Allocator* set_allocator(DeviceType type, Allocator* allocator);

}  // namespace kiln::detail
