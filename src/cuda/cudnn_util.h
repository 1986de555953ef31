// Small cuDNN helpers shared by the cuDNN-backed ops (conv, batch norm):
// move-only descriptor owners, dtype mapping
// and the alpha/beta scaling constants whose C type depends on the dtype.
// Internal to src/cuda.
#pragma once
#include <cudnn.h>

#include <array>
#include <cstdint>

#include "cuda/library_status.h"
#include "kiln/core/error.h"
#include "kiln/core/tensor.h"

namespace kiln::cuda::cudnn {

// The cuDNN storage type of a kiln floating dtype; throws DTypeError otherwise.
cudnnDataType_t data_type(DType dtype, const char* op);
// The type cuDNN accumulates in: double for f64, float for everything else.
cudnnDataType_t compute_type(DType dtype);

// cuDNN reads alpha/beta as double for f64 tensors and float otherwise.
struct Scale {
  double d;
  float f;
  DType dtype;
  Scale(double value, DType t) : d(value), f(static_cast<float>(value)), dtype(t) {}
  const void* ptr() const { return dtype == kFloat64 ? static_cast<const void*>(&d) : static_cast<const void*>(&f); }
};

// Descriptor owners: create on construction, destroy on destruction (never throw).
class TensorDesc {
 public:
  TensorDesc();
  ~TensorDesc();
  TensorDesc(const TensorDesc&) = delete;
  TensorDesc& operator=(const TensorDesc&) = delete;
  // A 4-D descriptor with explicit strides, so NCHW-contiguous and
  // channels-last (NHWC) tensors are both described without a copy.
  void set_4d(DType dtype, const std::array<int64_t, 4>& sizes, const std::array<int64_t, 4>& strides,
              const char* op);
  // A [1, C, 1, 1] descriptor for per-channel parameters.
  void set_channel(cudnnDataType_t type, int64_t channels, const char* op);
  cudnnTensorDescriptor_t get() const { return desc_; }

 private:
  cudnnTensorDescriptor_t desc_ = nullptr;
};

class FilterDesc {
 public:
  FilterDesc();
  ~FilterDesc();
  FilterDesc(const FilterDesc&) = delete;
  FilterDesc& operator=(const FilterDesc&) = delete;
  void set(DType dtype, cudnnTensorFormat_t format, const std::array<int64_t, 4>& kcrs, const char* op);
  cudnnFilterDescriptor_t get() const { return desc_; }

 private:
  cudnnFilterDescriptor_t desc_ = nullptr;
};

class ConvDesc {
 public:
  ConvDesc();
  ~ConvDesc();
  ConvDesc(const ConvDesc&) = delete;
  ConvDesc& operator=(const ConvDesc&) = delete;
  cudnnConvolutionDescriptor_t get() const { return desc_; }

 private:
  cudnnConvolutionDescriptor_t desc_ = nullptr;
};

// The sizes and strides of a 4-D tensor as arrays (checks the rank).
std::array<int64_t, 4> sizes4(const Tensor& t, const char* op);
std::array<int64_t, 4> strides4(const Tensor& t, const char* op);
// True when a 4-D tensor is laid out channels-last (NHWC in memory).
bool is_channels_last(const Tensor& t);

}  // namespace kiln::cuda::cudnn
