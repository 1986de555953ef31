// Argument checks and descriptions of tensors for error messages, used by
// every layer that validates tensors (ops, backends, optimizers, modules,
// checkpoints). Each throws the kiln::Error subclass its message names.
#pragma once
#include <initializer_list>
#include <string>

#include "kiln/core/tensor.h"

namespace kiln::detail {

// "[2, 3] float32 on cpu" ("undefined" for an undefined tensor).
std::string describe(const Tensor& t);
// Wraps a possibly negative dim into [0, ndim); ndim 0 accepts -1 and 0.
int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim);
// Sorted, unique, wrapped dims; an empty list means all dims.
Shape normalize_dims(const char* op, const Shape& dims, int64_t ndim);
void check_defined(const char* op, const Tensor& t, const char* name = "input");
// Throws DeviceError naming op and both devices unless all are on one device.
void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors);
void check_floating(const char* op, const Tensor& t);
// Throws DTypeError naming op unless t is undefined or of a dtype kiln
// computes with: a storage-only dtype (kiln/core/dtype.h) reaches no
// arithmetic, not even through a conversion the op would make first.
void check_computable(const char* op, const Tensor& t);
// The same for an op that makes a tensor of dtype d (arange, randint).
void check_computable(const char* op, DType d);

}  // namespace kiln::detail
