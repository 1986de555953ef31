// What a factory needs to know: dtype, device, requires_grad.
#pragma once
#include "kiln/core/device.h"
#include "kiln/core/dtype.h"

namespace kiln {

class TensorOptions {
 public:
  TensorOptions() = default;
  TensorOptions(DType d) : dtype_(d) {}                 // NOLINT: zeros({2}, kInt64)
  TensorOptions(Device d) : device_(d) {}               // NOLINT: zeros({2}, Device("cuda:0"))
  TensorOptions(DeviceType t) : device_(t) {}           // NOLINT: zeros({2}, kCUDA)
  TensorOptions(const char* device) : device_(device) {}  // NOLINT: zeros({2}, "cuda:0")

  TensorOptions dtype(DType d) const { auto o = *this; o.dtype_ = d; return o; }
  TensorOptions device(Device d) const { auto o = *this; o.device_ = d; return o; }
  TensorOptions requires_grad(bool r) const { auto o = *this; o.requires_grad_ = r; return o; }

  DType dtype() const { return dtype_; }
  Device device() const { return device_; }
  bool requires_grad() const { return requires_grad_; }

 private:
  DType dtype_ = kFloat32;
  Device device_ = Device(DeviceType::CPU);
  bool requires_grad_ = false;
};

// LibTorch-style shorthands: kiln::dtype(kFloat64).device("cuda:0").
inline TensorOptions dtype(DType d) { return TensorOptions(d); }
inline TensorOptions device(Device d) { return TensorOptions(d); }
inline TensorOptions requires_grad(bool r = true) { return TensorOptions().requires_grad(r); }

}  // namespace kiln
