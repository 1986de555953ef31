// See tensor_checks.h.
#include "core/tensor_checks.h"

#include <algorithm>
#include <sstream>

namespace kiln::detail {

int64_t wrap_dim(const char* op, int64_t dim, int64_t ndim) {
  const int64_t n = std::max<int64_t>(ndim, 1);
  KILN_CHECK(dim >= -n && dim < n, IndexError, op, ": dim ", dim, " is out of range for a tensor of rank ", ndim,
             " (expected in [", -n, ", ", n - 1, "])");
  return dim < 0 ? dim + n : dim;
}

Shape normalize_dims(const char* op, const Shape& dims, int64_t ndim) {
  Shape out;
  if (dims.empty()) {
    for (int64_t i = 0; i < ndim; ++i) out.push_back(i);
    return out;
  }
  for (int64_t d : dims) {
    int64_t w = wrap_dim(op, d, ndim);
    KILN_CHECK(std::find(out.begin(), out.end(), w) == out.end(), IndexError, op, ": dim ", d,
               " appears more than once in ", shape_str(dims));
    out.push_back(w);
  }
  std::sort(out.begin(), out.end());
  if (ndim == 0) out.clear();
  return out;
}

void check_defined(const char* op, const Tensor& t, const char* name) {
  KILN_CHECK(t.defined(), ValueError, op, ": ", name, " is an undefined tensor");
}

void check_same_device(const char* op, std::initializer_list<const Tensor*> tensors) {
  const Tensor* first = nullptr;
  for (const Tensor* t : tensors) {
    if (!t->defined()) continue;
    if (!first) {
      first = t;
      continue;
    }
    KILN_CHECK(t->device() == first->device(), DeviceError, op, ": expected all tensors on one device, got ",
               describe(*first), " and ", describe(*t));
  }
}

void check_floating(const char* op, const Tensor& t) {
  KILN_CHECK(is_floating(t.dtype()), DTypeError, op, ": expected a floating point tensor, got ", describe(t));
}

void check_computable(const char* op, const Tensor& t) {
  if (!t.defined() || !is_storage_only(t.dtype())) return;
  throw DTypeError(str_cat(op, ": ", describe(t), " has a storage-only dtype (", dtype_name(t.dtype()),
                           "): kiln stores, copies and converts it but computes nothing in it; convert it with "
                           ".to(kFloat32) on the CPU first"));
}

void check_computable(const char* op, DType d) {
  KILN_CHECK(!is_storage_only(d), DTypeError, op, ": cannot make a tensor of the storage-only dtype ", dtype_name(d),
             " (kiln stores, copies and converts it but computes nothing in it); make it in another dtype and "
             "convert it with .to() on the CPU");
}

std::string describe(const Tensor& t) {
  if (!t.defined()) return "undefined";
  std::ostringstream os;
  os << shape_str(t.sizes()) << " " << t.dtype() << " on " << t.device();
  return os.str();
}

}  // namespace kiln::detail
