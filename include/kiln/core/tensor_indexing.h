// Python-style indexing for Tensor::index / index_put_, as LibTorch's
// torch::indexing:
//
//   using namespace kiln::indexing;
//   x.index({Slice(), 0})               // x[:, 0]
//   x.index({"...", Slice(1, None, 2)}) // x[..., 1::2]
//   x.index({None, mask})               // x[None, mask]  (mask: bool tensor)
//   x.index_put_({idx, Slice()}, 0.0)   // x[idx, :] = 0  (idx: int64 tensor)
//
// Integers, slices, None and Ellipsis select a view (integers drop their dim,
// None adds one of size 1, Ellipsis stands for the dims not indexed). Tensor
// indices follow NumPy's advanced indexing: int64/int32 tensors, broadcast
// together, gather one element per index tuple; a bool tensor selects the
// positions where it is true (its shape must match the dims it covers). The
// gathered dims go where the first tensor index was when the tensor indices
// are adjacent, and in front otherwise. Indexing with tensors copies and, like
// a bool mask, reads the indices on the host (a CUDA synchronisation).
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <type_traits>

#include "kiln/core/tensor.h"

namespace kiln::indexing {

// Python's None: a new dim of size 1 (or an open end of a Slice).
constexpr std::nullopt_t None = std::nullopt;

struct EllipsisIndexType {
  constexpr EllipsisIndexType() = default;
};
// Python's ...: as many full slices as the dims not otherwise indexed.
constexpr EllipsisIndexType Ellipsis{};

// start:stop:step; an unset bound is the start or end of the dim, and
// negative bounds count from the end. The step must be positive.
class Slice {
 public:
  Slice(std::optional<int64_t> start = None, std::optional<int64_t> stop = None,  // NOLINT
        std::optional<int64_t> step = None)
      : start_(start), stop_(stop), step_(step.value_or(1)) {}
  std::optional<int64_t> start() const { return start_; }
  std::optional<int64_t> stop() const { return stop_; }
  int64_t step() const { return step_; }

 private:
  std::optional<int64_t> start_, stop_;
  int64_t step_;
};

// One entry of an index list. Implicit from each kind, so a braced list mixes them.
class TensorIndex {
 public:
  enum class Kind { None, Ellipsis, Integer, Boolean, Slice, Tensor };

  TensorIndex(std::nullopt_t) : kind_(Kind::None) {}                 // NOLINT
  TensorIndex(EllipsisIndexType) : kind_(Kind::Ellipsis) {}          // NOLINT
  // "..." is Ellipsis, as in LibTorch; any other string throws ValueError.
  TensorIndex(const char* s);                                        // NOLINT
  template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  TensorIndex(T i) : kind_(Kind::Integer), integer_(static_cast<int64_t>(i)) {}  // NOLINT
  // true adds a dim of size 1 and keeps everything, false adds one of size 0 (NumPy).
  template <class T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
  TensorIndex(T b) : kind_(Kind::Boolean), boolean_(b) {}            // NOLINT
  TensorIndex(Slice s) : kind_(Kind::Slice), slice_(s) {}            // NOLINT
  TensorIndex(Tensor t) : kind_(Kind::Tensor), tensor_(std::move(t)) {}  // NOLINT

  Kind kind() const { return kind_; }
  bool is_none() const { return kind_ == Kind::None; }
  bool is_ellipsis() const { return kind_ == Kind::Ellipsis; }
  bool is_integer() const { return kind_ == Kind::Integer; }
  bool is_boolean() const { return kind_ == Kind::Boolean; }
  bool is_slice() const { return kind_ == Kind::Slice; }
  bool is_tensor() const { return kind_ == Kind::Tensor; }
  int64_t integer() const { return integer_; }
  bool boolean() const { return boolean_; }
  const Slice& slice() const { return slice_; }
  const Tensor& tensor() const { return tensor_; }

 private:
  Kind kind_;
  int64_t integer_ = 0;
  bool boolean_ = false;
  Slice slice_;
  Tensor tensor_;
};

// "[:, 0, None]": the index list as Python would write it, for messages.
std::string describe(ArrayRef<TensorIndex> indices);

}  // namespace kiln::indexing
