// CPU sort and topk along the rows of a contiguous [R, n] tensor: a stable
// sort of the row's positions (std::stable_sort), or a partial sort for
// topk with ties going to the lower position, so both agree with each other
// and with the CUDA radix sort. NaN orders above +inf, as in PyTorch.
#include <algorithm>
#include <numeric>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace kiln::cpu {

namespace {

template <class V> bool is_nan(V v) {
  if constexpr (std::is_floating_point_v<V>) return v != v;
  else return false;
}
// a before b in ascending order (NaN last).
template <class V> bool less_nan_last(V a, V b) { return !is_nan(a) && (is_nan(b) || a < b); }

// Calls body(row values as opmath, row index) for each row, over threads.
template <class T, class Body>
void for_rows(const Tensor& x, Body&& body) {
  const int64_t R = x.size(0), n = x.size(1);
  const T* xp = static_cast<const T*>(x.raw_data_ptr());
  parallel_ranges(R, R * std::max<int64_t>(n, 1) * 8, [&](int64_t begin, int64_t end) {
    std::vector<opmath_t<T>> row(static_cast<size_t>(n));
    std::vector<int64_t> order(static_cast<size_t>(n));
    for (int64_t r = begin; r < end; ++r) {
      for (int64_t i = 0; i < n; ++i) row[i] = static_cast<opmath_t<T>>(xp[r * n + i]);
      std::iota(order.begin(), order.end(), int64_t{0});
      body(row, order, r);
    }
  });
}

}  // namespace

void CpuBackend::sort(const Tensor& x, bool descending, Tensor& values, Tensor& indices) {
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = x.size(1);
    const T* xp = static_cast<const T*>(x.raw_data_ptr());
    T* vp = static_cast<T*>(values.raw_data_ptr());
    int64_t* ip = static_cast<int64_t*>(indices.raw_data_ptr());
    for_rows<T>(x, [&](const auto& row, std::vector<int64_t>& order, int64_t r) {
      if (descending)
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return less_nan_last(row[b], row[a]); });
      else
        std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return less_nan_last(row[a], row[b]); });
      for (int64_t i = 0; i < n; ++i) {
        ip[r * n + i] = order[i];
        vp[r * n + i] = xp[r * n + order[i]];
      }
    });
  });
}

void CpuBackend::topk(const Tensor& x, int64_t k, bool largest, Tensor& values, Tensor& indices) {
  if (k == 0) return;
  visit_dtype(x.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const int64_t n = x.size(1);
    const T* xp = static_cast<const T*>(x.raw_data_ptr());
    T* vp = static_cast<T*>(values.raw_data_ptr());
    int64_t* ip = static_cast<int64_t*>(indices.raw_data_ptr());
    for_rows<T>(x, [&](const auto& row, std::vector<int64_t>& order, int64_t r) {
      // (value, position) order: the same as a stable sort's first k.
      auto before = [&](int64_t a, int64_t b) {
        const bool ab = largest ? less_nan_last(row[b], row[a]) : less_nan_last(row[a], row[b]);
        const bool ba = largest ? less_nan_last(row[a], row[b]) : less_nan_last(row[b], row[a]);
        return ab || (!ba && a < b);
      };
      std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
      for (int64_t i = 0; i < k; ++i) {
        ip[r * k + i] = order[i];
        vp[r * k + i] = xp[r * n + order[i]];
      }
    });
  });
}

}  // namespace kiln::cpu
