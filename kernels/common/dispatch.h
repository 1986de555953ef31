// Host-side dtype dispatch for launchers: a runtime DType becomes a C++
// type, and unsupported dtypes throw DTypeError naming the kernel.
#pragma once
#include "kiln/core/dtype.h"
#include "kiln/core/error.h"

namespace kiln::kernels {

template <class Fn>
void visit_all(DType t, Fn&& fn) {
  kiln::visit_dtype(t, fn);
}

template <class Fn>
void visit_floating(DType t, const char* kernel, Fn&& fn) {
  switch (t) {
    case DType::Float16: return fn(Half{});
    case DType::BFloat16: return fn(BFloat16{});
    case DType::Float32: return fn(float{});
    case DType::Float64: return fn(double{});
    default: break;
  }
  throw DTypeError(detail::str_cat(kernel, ": not implemented for ", dtype_name(t), " on cuda"));
}

}  // namespace kiln::kernels
