// CPU embedding lookup and its backward (a scatter-add of gradient rows).
// The backward splits the C columns over threads and adds rows in id order
// within each, so it is deterministic and needs no atomics.
#include <atomic>
#include <cstring>
#include <type_traits>
#include <vector>

#include "cpu/cpu_backend.h"
#include "cpu/parallel.h"

namespace kiln::cpu {

void CpuBackend::embedding_forward(const Tensor& weight, const Tensor& ids, Tensor& out, Tensor& errors) {
  const int64_t V = weight.size(0), C = weight.size(1), N = ids.size(0);
  const size_t row_bytes = static_cast<size_t>(C) * weight.element_size();
  const char* wp = static_cast<const char*>(weight.raw_data_ptr());
  const int64_t* ip = static_cast<const int64_t*>(ids.raw_data_ptr());
  char* op = static_cast<char*>(out.raw_data_ptr());
  std::atomic<int64_t> bad_count{0}, bad_id{0};
  parallel_ranges(N, N * C, [&](int64_t begin, int64_t end) {
    for (int64_t n = begin; n < end; ++n) {
      const int64_t id = ip[n];
      if (id < 0 || id >= V) {
        std::memset(op + n * row_bytes, 0, row_bytes);
        if (bad_count.fetch_add(1) == 0) bad_id.store(id);
        continue;
      }
      std::memcpy(op + n * row_bytes, wp + id * row_bytes, row_bytes);
    }
  });
  int64_t* e = static_cast<int64_t*>(errors.raw_data_ptr());
  e[0] = bad_count.load();
  e[1] = bad_id.load();
}

void CpuBackend::embedding_backward(const Tensor& grad, const Tensor& ids, int64_t padding_idx, Tensor& grad_weight) {
  visit_floating(grad.dtype(), "embedding_backward", [&](auto tag) {
    using T = decltype(tag);
    using Acc = opmath_t<T>;
    const int64_t V = grad_weight.size(0), C = grad_weight.size(1), N = ids.size(0);
    const T* gp = static_cast<const T*>(grad.raw_data_ptr());
    const int64_t* ip = static_cast<const int64_t*>(ids.raw_data_ptr());
    T* wp = static_cast<T*>(grad_weight.raw_data_ptr());
    parallel_ranges(C, (N + V) * C, [&](int64_t c0, int64_t c1) {
      const int64_t w = c1 - c0;
      // f16/bf16 rows accumulate in f32 and round once.
      std::vector<Acc> acc(static_cast<size_t>(std::is_same_v<Acc, T> ? 0 : V * w), Acc(0));
      for (int64_t v = 0; v < V; ++v)
        for (int64_t c = c0; c < c1; ++c) wp[v * C + c] = static_cast<T>(Acc(0));
      for (int64_t n = 0; n < N; ++n) {
        const int64_t id = ip[n];
        if (id < 0 || id >= V || id == padding_idx) continue;
        const T* gr = gp + n * C;
        if constexpr (std::is_same_v<Acc, T>) {
          T* wr = wp + id * C;
          for (int64_t c = c0; c < c1; ++c) wr[c] += gr[c];
        } else {
          Acc* ar = acc.data() + id * w;
          for (int64_t c = c0; c < c1; ++c) ar[c - c0] += static_cast<Acc>(gr[c]);
        }
      }
      if constexpr (!std::is_same_v<Acc, T>)
        for (int64_t v = 0; v < V; ++v)
          for (int64_t c = c0; c < c1; ++c) wp[v * C + c] = static_cast<T>(acc[v * w + c - c0]);
    });
  });
}

}  // namespace kiln::cpu
