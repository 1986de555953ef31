// Tensor factories.
#pragma once
#include <initializer_list>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln {

// Sizes are an IntArrayRef: zeros({2, 3}), zeros(5), zeros(x.sizes()).
// Unset options are float32 on the CPU.
Tensor empty(IntArrayRef shape, const TensorOptions& opts = {});
// empty(x.sizes()) with `using namespace kiln`: argument-dependent lookup
// also finds std::empty(const vector&), which these exact overloads outrank
// (the braced-list one keeps empty({2, 3}) unambiguous between the other two).
Tensor empty(const Shape& shape, const TensorOptions& opts = {});
Tensor empty(std::initializer_list<int64_t> shape, const TensorOptions& opts = {});
Tensor zeros(IntArrayRef shape, const TensorOptions& opts = {});
Tensor ones(IntArrayRef shape, const TensorOptions& opts = {});
Tensor full(IntArrayRef shape, const Scalar& value, const TensorOptions& opts = {});
// *_like: t's shape; dtype and device from opts where it sets them, else t's.
Tensor zeros_like(const Tensor& t, const TensorOptions& opts = {});
Tensor ones_like(const Tensor& t, const TensorOptions& opts = {});
Tensor empty_like(const Tensor& t, const TensorOptions& opts = {});
Tensor full_like(const Tensor& t, const Scalar& value, const TensorOptions& opts = {});
// [start, end) with step; integer arguments give int64 unless opts say otherwise.
Tensor arange(const Scalar& end, const TensorOptions& opts = kInt64);
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1, const TensorOptions& opts = kInt64);
Tensor linspace(double start, double end, int64_t steps, const TensorOptions& opts = {});
Tensor eye(int64_t n, const TensorOptions& opts = {});
Tensor eye(int64_t n, int64_t m, const TensorOptions& opts = {});
// Uniform in [0, 1), standard normal, integers in [low, high): from the default generator.
Tensor rand(IntArrayRef shape, const TensorOptions& opts = {});
Tensor randn(IntArrayRef shape, const TensorOptions& opts = {});
Tensor randint(int64_t low, int64_t high, IntArrayRef shape, const TensorOptions& opts = kInt64);
Tensor randperm(int64_t n, const TensorOptions& opts = kInt64);
Tensor rand_like(const Tensor& t, const TensorOptions& opts = {});
Tensor randn_like(const Tensor& t, const TensorOptions& opts = {});
Tensor bernoulli(const Tensor& probabilities);
// num_samples category indices (int64) per row of weights ([n] or [R, n],
// non-negative, finite, not all zero; they need not sum to 1), drawn with
// or without replacement from the default generator. The same seed is meant
// to draw the same indices on every device (the CUDA draw is compiled, not
// yet run on a GPU). Bad weights are a ValueError (on a GPU
// raised at the next host synchronisation; the draw gives zeros meanwhile).
Tensor multinomial(const Tensor& weights, int64_t num_samples, bool replacement = false);

// From host data (copied). The shape defaults to 1-D.
template <class T>
Tensor tensor(const std::vector<T>& values, const Shape& shape = {}, const TensorOptions& opts = dtype_of_v<T>);
Tensor tensor(std::initializer_list<float> values, const TensorOptions& opts = kFloat32);
Tensor tensor(std::initializer_list<double> values, const TensorOptions& opts = kFloat64);
Tensor tensor(std::initializer_list<int> values, const TensorOptions& opts = kInt64);
Tensor scalar_tensor(const Scalar& value, const TensorOptions& opts = {});
// Wraps caller memory without copying (the caller keeps it alive) ...
Tensor from_blob(void* data, const Shape& shape, const TensorOptions& opts = {});
Tensor from_blob(void* data, const Shape& shape, const Shape& strides, const TensorOptions& opts = {});
// ... or with a deleter that kiln calls when the last view is gone.
Tensor from_blob(void* data, const Shape& shape, std::function<void(void*)> deleter, const TensorOptions& opts = {});

}  // namespace kiln
