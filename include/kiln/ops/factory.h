// Tensor factories.
#pragma once
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln {

Tensor empty(const Shape& shape, const TensorOptions& opts = {});
Tensor zeros(const Shape& shape, const TensorOptions& opts = {});
Tensor ones(const Shape& shape, const TensorOptions& opts = {});
Tensor full(const Shape& shape, const Scalar& value, const TensorOptions& opts = {});
Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor empty_like(const Tensor& t);
Tensor full_like(const Tensor& t, const Scalar& value);
// [start, end) with step; integer arguments give int64 unless opts say otherwise.
Tensor arange(const Scalar& end, const TensorOptions& opts = kInt64);
Tensor arange(const Scalar& start, const Scalar& end, const Scalar& step = 1, const TensorOptions& opts = kInt64);
Tensor linspace(double start, double end, int64_t steps, const TensorOptions& opts = {});
Tensor eye(int64_t n, const TensorOptions& opts = {});
Tensor eye(int64_t n, int64_t m, const TensorOptions& opts = {});
// Uniform in [0, 1), standard normal, integers in [low, high): from the default generator.
Tensor rand(const Shape& shape, const TensorOptions& opts = {});
Tensor randn(const Shape& shape, const TensorOptions& opts = {});
Tensor randint(int64_t low, int64_t high, const Shape& shape, const TensorOptions& opts = kInt64);
Tensor randperm(int64_t n, const TensorOptions& opts = kInt64);
Tensor rand_like(const Tensor& t);
Tensor randn_like(const Tensor& t);
Tensor bernoulli(const Tensor& probabilities);
// num_samples category indices (int64) per row of weights ([n] or [R, n],
// non-negative, finite, not all zero; they need not sum to 1), drawn with
// or without replacement from the default generator. The same seed draws
// the same indices on every device. Bad weights are a ValueError (on a GPU
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
