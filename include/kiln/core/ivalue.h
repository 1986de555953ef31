// IValue: one value of a few kinds (none, bool, int, double, string, Tensor,
// lists of ints, doubles or Tensors), as LibTorch's c10::IValue, for what a
// custom autograd function keeps in ctx->saved_data:
//
//   ctx->saved_data["alpha"] = alpha;            // double
//   double alpha = ctx->saved_data["alpha"].toDouble();
//
// Reading it as another kind throws kiln::ValueError naming both kinds.
#pragma once
#include <cstdint>
#include <string>
#include <type_traits>
#include <variant>
#include <vector>

#include "kiln/core/scalar.h"
#include "kiln/core/tensor.h"

namespace kiln {

class IValue {
 public:
  IValue() = default;  // none
  template <class T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
  IValue(T b) : v_(b) {}  // NOLINT
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  IValue(T i) : v_(static_cast<int64_t>(i)) {}  // NOLINT
  template <class T, std::enable_if_t<std::is_floating_point_v<T>, int> = 0>
  IValue(T d) : v_(static_cast<double>(d)) {}  // NOLINT
  IValue(const char* s) : v_(std::string(s)) {}       // NOLINT
  IValue(std::string s) : v_(std::move(s)) {}         // NOLINT
  IValue(Tensor t) : v_(std::move(t)) {}              // NOLINT
  IValue(std::vector<int64_t> v) : v_(std::move(v)) {}  // NOLINT
  IValue(std::vector<double> v) : v_(std::move(v)) {}   // NOLINT
  IValue(std::vector<Tensor> v) : v_(std::move(v)) {}   // NOLINT
  // A Scalar is stored as the bool, int or double it holds.
  IValue(const Scalar& s);  // NOLINT

  bool isNone() const { return v_.index() == 0; }
  bool isBool() const { return std::holds_alternative<bool>(v_); }
  bool isInt() const { return std::holds_alternative<int64_t>(v_); }
  bool isDouble() const { return std::holds_alternative<double>(v_); }
  bool isString() const { return std::holds_alternative<std::string>(v_); }
  bool isTensor() const { return std::holds_alternative<Tensor>(v_); }
  bool isIntList() const { return std::holds_alternative<std::vector<int64_t>>(v_); }
  bool isDoubleList() const { return std::holds_alternative<std::vector<double>>(v_); }
  bool isTensorList() const { return std::holds_alternative<std::vector<Tensor>>(v_); }

  bool toBool() const { return get<bool>("toBool"); }
  int64_t toInt() const { return get<int64_t>("toInt"); }
  double toDouble() const { return get<double>("toDouble"); }
  Scalar toScalar() const;  // from a bool, int or double
  const std::string& toStringRef() const { return get<std::string>("toStringRef"); }
  const Tensor& toTensor() const { return get<Tensor>("toTensor"); }
  const std::vector<int64_t>& toIntVector() const { return get<std::vector<int64_t>>("toIntVector"); }
  const std::vector<double>& toDoubleVector() const { return get<std::vector<double>>("toDoubleVector"); }
  const std::vector<Tensor>& toTensorVector() const { return get<std::vector<Tensor>>("toTensorVector"); }

  // "None", "Bool", "Int", "Double", "String", "Tensor", "IntList", "DoubleList", "TensorList".
  const char* tagKind() const;

 private:
  template <class T> const T& get(const char* what) const {
    const T* p = std::get_if<T>(&v_);
    if (p == nullptr) throw_kind_mismatch(what);
    return *p;
  }
  [[noreturn]] void throw_kind_mismatch(const char* what) const;

  std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, std::vector<int64_t>, std::vector<double>,
               std::vector<Tensor>>
      v_;
};

}  // namespace kiln
