// Small helpers shared by the op definitions (the argument checks they use
// are in core/tensor_checks.h, shared with the other layers).
#pragma once
#include "backend/backend.h"
#include "core/tensor_checks.h"
#include "core/tensor_impl.h"

namespace kiln::detail {

// Reduces a broadcast gradient back to `shape` by summing the expanded dims.
Tensor sum_to(const Tensor& grad, const Shape& shape);
// The backend of a tensor's device.
inline Backend& backend_of(const Tensor& t) { return backend_for(t.device()); }

}  // namespace kiln::detail
