// ArrayRef<T>: a non-owning view of contiguous values, the parameter type of
// every function that takes a list of dims or sizes, as LibTorch's
// IntArrayRef. One type accepts a braced list, a std::vector and a single
// value, so x.sum(1), x.sum({0, 1}) and x.sum(dims) all compile without an
// overload per spelling:
//
//   Tensor sum(IntArrayRef dims, bool keepdim);   x.sum(1);  x.sum({1, 2});
//
// It refers to memory it does not own: take it as a parameter, never store it
// (a braced list or a converted int lives until the end of the calling
// expression only). vec() copies the values out.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <ostream>
#include <vector>

namespace kiln {

template <class T>
class ArrayRef {
 public:
  using value_type = T;
  using const_iterator = const T*;
  using iterator = const T*;

  constexpr ArrayRef() = default;
  // One value: x.sum(1). The value (often a temporary) must outlive the call.
  constexpr ArrayRef(const T& one) : data_(&one), size_(1) {}  // NOLINT: implicit, like LibTorch
  constexpr ArrayRef(const T* data, size_t size) : data_(data), size_(size) {}
  ArrayRef(const std::vector<T>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT
// GCC warns that a braced list's array dies with the full expression; that
// is the contract of a parameter-only type (LibTorch silences it the same way).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"
#endif
  constexpr ArrayRef(const std::initializer_list<T>& list)  // NOLINT
      : data_(list.size() == 0 ? nullptr : list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  constexpr const T* begin() const { return data_; }
  constexpr const T* end() const { return data_ + size_; }
  constexpr const T* data() const { return data_; }
  constexpr size_t size() const { return size_; }
  constexpr bool empty() const { return size_ == 0; }
  constexpr const T& operator[](size_t i) const { return data_[i]; }
  const T& front() const { return data_[0]; }
  const T& back() const { return data_[size_ - 1]; }

  std::vector<T> vec() const { return std::vector<T>(begin(), end()); }
  operator std::vector<T>() const { return vec(); }  // NOLINT: where a Shape is wanted

  bool equals(ArrayRef other) const {
    if (size_ != other.size_) return false;
    for (size_t i = 0; i < size_; ++i)
      if (!(data_[i] == other.data_[i])) return false;
    return true;
  }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
};

using IntArrayRef = ArrayRef<int64_t>;

template <class T>
std::ostream& operator<<(std::ostream& os, ArrayRef<T> a) {
  os << "[";
  for (size_t i = 0; i < a.size(); ++i) os << (i ? ", " : "") << a[i];
  return os << "]";
}

}  // namespace kiln
