// Bytes on a device, shared by a tensor and all of its views.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>

#include "kiln/core/device.h"

namespace kiln::detail {

struct Storage {
  Storage(void* data, size_t nbytes, Device device, std::function<void(void*)> deleter)
      : data(data), nbytes(nbytes), device(device), deleter(std::move(deleter)) {}
  ~Storage() {
    if (deleter) deleter(data);
  }
  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;

  void* data;
  size_t nbytes;
  Device device;
  std::function<void(void*)> deleter;  // empty: memory owned by someone else
  // Bumped by every in-place write, so autograd can tell when a tensor it
  // saved for backward was modified afterwards.
  uint32_t version = 0;
};

}  // namespace kiln::detail
