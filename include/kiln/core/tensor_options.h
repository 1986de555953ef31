// What a factory or a conversion needs to know: dtype, device, requires_grad.
// As in LibTorch, each field is either set or left to a default, so
// x.to(TensorOptions().device(kCUDA)) moves x without changing its dtype,
// and zeros_like(x, kInt64) keeps x's device.
#pragma once
#include <optional>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

namespace kiln {

class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType d) : dtype_(d) {}                 // NOLINT: zeros({2}, kInt64)
  TensorOptions(Device d) : device_(d) {}               // NOLINT: zeros({2}, Device("cuda:0"))
  TensorOptions(DeviceType t) : device_(Device(t)) {}   // NOLINT: zeros({2}, kCUDA)
  TensorOptions(const char* device) : device_(Device(device)) {}  // NOLINT: zeros({2}, "cuda:0")

  // Chainable setters (each returns a copy): kiln::dtype(kFloat64).device(kCUDA, 1).
  TensorOptions dtype(DType d) const { auto o = *this; o.dtype_ = d; return o; }
  template <class T> TensorOptions dtype() const { return dtype(dtype_of_v<T>); }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; return o; }
  TensorOptions device(DeviceType t, int index) const { return device(Device(t, index)); }
  TensorOptions device_index(int index) const { return device(Device(kCUDA, index)); }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }

  // The value, or the default when unset: float32, cpu, false.
  DType dtype() const { return dtype_.value_or(kFloat32); }
  Device device() const { return device_.value_or(Device(DeviceType::CPU)); }
  bool requires_grad() const { return requires_grad_.value_or(false); }
  bool has_dtype() const { return dtype_.has_value(); }
  bool has_device() const { return device_.has_value(); }
  bool has_requires_grad() const { return requires_grad_.has_value(); }
  std::optional<DType> dtype_opt() const { return dtype_; }
  std::optional<Device> device_opt() const { return device_; }
  std::optional<bool> requires_grad_opt() const { return requires_grad_; }

  // These options with the unset fields taken from `base` (LibTorch's merge_in, reversed).
  TensorOptions or_from(const TensorOptions& base) const {
    TensorOptions o = base;
    if (dtype_) o.dtype_ = dtype_;
    if (device_) o.device_ = device_;
    if (requires_grad_) o.requires_grad_ = requires_grad_;
    return o;
  }

 private:
  std::optional<DType> dtype_;
  std::optional<Device> device_;
  std::optional<bool> requires_grad_;
};

// LibTorch-style shorthands: kiln::dtype(kFloat64).device("cuda:0").
inline TensorOptions dtype(DType d) { return TensorOptions(d); }
template <class T> TensorOptions dtype() { return TensorOptions(dtype_of_v<T>); }
inline TensorOptions device(Device d) { return TensorOptions(d); }
inline TensorOptions device_index(int index) { return TensorOptions().device_index(index); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace kiln
