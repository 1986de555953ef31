// See kiln/core/ivalue.h.
#include "kiln/core/ivalue.h"

namespace kiln {

IValue::IValue(const Scalar& s) {
  if (s.isBoolean()) v_ = s.toBool();
  else if (s.is_floating()) v_ = s.to_double();
  else v_ = s.to_int();
}

Scalar IValue::toScalar() const {
  if (isBool()) return Scalar(std::get<bool>(v_));
  if (isInt()) return Scalar(std::get<int64_t>(v_));
  if (isDouble()) return Scalar(std::get<double>(v_));
  throw_kind_mismatch("toScalar");
}

const char* IValue::tagKind() const {
  static const char* const kNames[] = {"None",   "Bool",    "Int",        "Double",    "String",
                                       "Tensor", "IntList", "DoubleList", "TensorList"};
  return kNames[v_.index()];
}

void IValue::throw_kind_mismatch(const char* what) const {
  throw ValueError(detail::str_cat("IValue::", what, ": the value is a ", tagKind()));
}

}  // namespace kiln
