// Argument checks and small helpers shared by the op definitions.
#pragma once
#include <string>
#include <vector>

#include "backend/backend.h"
#include "core/tensor_impl.h"

namespace kiln::detail {

// Wraps a possibly negative dim into [0, ndim); ndim 0 accepts -1 and 0.
int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim);
// Sorted, unique, wrapped dims; an empty list means all dims.
Shape normalize_dims(const char* op, const Shape& dims, int64_t ndim);
void check_defined(const char* op, const Tensor& t, const char* name = "input");
// Throws DeviceError naming op and both devices unless all are on one device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_floating(const char* op, const Tensor& t);
// "[2, 3] float32 on cpu"
std::string describe(const Tensor& t);
// Reduces a broadcast gradient back to `shape` by summing the expanded dims.
Tensor sum_to(const Tensor& grad, const Shape& shape);
// The backend of a tensor's device.
inline Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

}  // namespace kiln::detail
