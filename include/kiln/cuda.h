// CUDA device queries. Safe to call on machines without a GPU or without a
// CUDA build: is_available() is then false and device_count() 0.
#pragma once
#include <cstddef>
#include <string>

namespace kiln::cuda {

bool is_built();       // the library was compiled with the CUDA backend
bool is_available();   // built, a driver is present, and at least one device
int device_count();
struct DeviceProperties {
  std::string name;
  int multiprocessors = 0;
  size_t total_memory = 0;
  int major = 0;
  int minor = 0;
};
DeviceProperties get_device_properties(int device);
void synchronize(int device = -1);  // -1: the current device
// Why is_available() is false, in words ("no CUDA build", "no driver", ...).
std::string unavailable_reason();

}  // namespace kiln::cuda
