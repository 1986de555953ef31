// kiln::set_num_threads: one knob for kiln's pool, OpenMP, oneDNN and OpenBLAS.
#include "kiln/core/threads.h"

#include <omp.h>

#include "cpu/blas_threads.h"
#include "cpu/parallel.h"
#include "kiln/core/error.h"

namespace kiln {

void set_num_threads(int n) {
  KILN_CHECK(n > 0, ValueError, "set_num_threads: the number of threads must be positive, got ", n);
  cpu::set_pool_threads(n);
  omp_set_num_threads(n);          // this thread's OpenMP regions, and oneDNN's (OpenMP runtime)
  openblas_set_num_threads(n);     // process-wide
}

int get_num_threads() { return cpu::pool_threads(); }

int cpu::blas_threads() { return openblas_get_num_threads(); }
int cpu::openmp_threads() { return omp_get_max_threads(); }

}  // namespace kiln
