// A small fork-join pool whose idle threads spin for at most 200 us and
// then block (parallel.cpp says why both).
//
// libgomp's threads spin for a while at every barrier and after every
// parallel region. On a machine whose cores are shared with other processes
// that spinning burns this process's CPU share while its partner thread is
// descheduled: the Fashion-MNIST CNN's training step on 2 shared cores took
// ~85 ms with libgomp's default (spinning) wait policy and ~36 ms with
// OMP_WAIT_POLICY=passive, which a library cannot set for its host process.
// The parallel loops of a training step's ops (convolution over samples,
// batch norm over channels, pooling over planes, elementwise maps,
// reductions, layer norm, cross entropy, optimizer steps, f32 matrix
// products in blocks: cpu/gemm.h) therefore run here; a few others
// (softmax, arg-reductions, indexing, random fills, gradient norms, pooling
// other than 2x2 max) stay on OpenMP.
#pragma once
#include <algorithm>
#include <cstdint>
#include <functional>

namespace kiln::cpu {

// Threads a parallel_run uses: what kiln::set_num_threads set, else
// OpenMP's setting (OMP_NUM_THREADS or the number of cores), so one knob
// controls both.
int pool_threads();
// Fixes pool_threads() for the whole process (kiln::set_num_threads).
void set_pool_threads(int n);
// OpenBLAS's and this thread's OpenMP thread counts (src/cpu/threads.cpp),
// so tests need not link OpenBLAS or OpenMP themselves.
int blas_threads();
int openmp_threads();

// Runs body(t) for t in [0, threads) on up to `threads` threads, the caller
// among them (which thread runs which t varies from run to run: index
// outputs and scratch by t), and returns when all are done; rethrows the
// first exception. Runs
// serially when threads <= 1, when called from inside another run or an
// OpenMP region, or while another thread's run holds the pool.
void parallel_run(int threads, const std::function<void(int)>& body);

// Below this much work (elements touched) a pool loop runs on one thread.
// Waking a blocked thread costs tens of microseconds, but between the ops of
// a step the workers are still spinning and take a task within about a
// microsecond: at 2^18, char_gpt's [1024, 128] layer norms and elementwise
// ops ran on one thread while the other waited (25% of its samples), and
// 2^15 made its step 10-20% faster (2 threads, alternating runs).
constexpr int64_t kPoolGrain = int64_t{1} << 15;

// Splits [0, n) into contiguous ranges, one per thread, and calls
// body(begin, end) for each; one thread when work < kPoolGrain. The split
// depends only on n and the thread count, so results are reproducible.
template <class Body>
void parallel_ranges(int64_t n, int64_t work, Body&& body) {
  int64_t threads = work >= kPoolGrain ? pool_threads() : 1;
  threads = std::max<int64_t>(1, std::min(threads, n));
  if (threads == 1) {
    if (n > 0) body(int64_t{0}, n);
    return;
  }
  parallel_run(static_cast<int>(threads), [&](int t) {
    const int64_t begin = n * t / threads, end = n * (t + 1) / threads;
    if (begin < end) body(begin, end);
  });
}

}  // namespace kiln::cpu
