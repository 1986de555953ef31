// Keeps OpenBLAS's own pthread pool out of the way of kiln's OpenMP threads.
// Both pools spin while they wait for work, so running OpenBLAS with several
// threads next to (or inside) OpenMP regions makes them fight over the cores;
// small products are also faster on one thread than split.
#pragma once
#include <cblas.h>

#include <cstdint>

namespace kiln::cpu {

// Below this many multiply-adds a product runs on one OpenBLAS thread.
constexpr int64_t kBlasParallelMacs = int64_t{1} << 24;

// Runs OpenBLAS single-threaded while alive (when `active`).
class BlasSingleThread {
 public:
  explicit BlasSingleThread(bool active) : prev_(active ? openblas_get_num_threads() : 0) {
    if (prev_ > 1) openblas_set_num_threads(1);
  }
  ~BlasSingleThread() {
    if (prev_ > 1) openblas_set_num_threads(prev_);
  }
  BlasSingleThread(const BlasSingleThread&) = delete;
  BlasSingleThread& operator=(const BlasSingleThread&) = delete;

 private:
  int prev_;
};

}  // namespace kiln::cpu
