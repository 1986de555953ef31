// CPU thread control, as LibTorch's at::set_num_threads / get_num_threads.
#pragma once

namespace kiln {

// Sets the number of threads the CPU backend uses, all three pools at once:
// kiln's blocking fork-join pool, OpenMP (and through it oneDNN, which runs on
// OpenMP here) and OpenBLAS. n must be positive (ValueError otherwise).
// OpenMP's setting is per thread: it is applied to the calling thread, and
// any other thread that has its own OpenMP setting keeps it (as with
// LibTorch's OpenMP builds); kiln's pool and OpenBLAS are process-wide.
void set_num_threads(int n);
// The number set by set_num_threads, or at start-up OpenMP's default
// (OMP_NUM_THREADS, else the number of cores).
int get_num_threads();

}  // namespace kiln
