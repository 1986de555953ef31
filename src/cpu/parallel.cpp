// The blocking fork-join pool of parallel.h.
#include "cpu/parallel.h"

#include <omp.h>
#include <pthread.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::cpu {

namespace {

thread_local bool inside_run = false;

// How long a worker waiting for the next run, and the caller waiting for
// the workers, spin before they block. A training step hands the pool a new
// loop every few tens of microseconds; waking a blocked thread costs about
// as much again on a bare machine and far more on a VM, whose idle vCPU has
// to be woken through the hypervisor: on the 2-vCPU machine of
// docs/benchmarks.md an in-cache add of 2^19 floats took 178 us on one
// thread and 265 us on two when every hand-off blocked. The spin is short
// so that a thread with nothing to do gives its core back soon (libgomp's
// default spins for milliseconds, which is what made the pool block).
constexpr auto kSpin = std::chrono::microseconds(200);

void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#else
  std::this_thread::yield();
#endif
}

// Spins until ready() or kSpin has passed; returns ready().
template <class Ready>
bool spin_until(Ready ready) {
  const auto deadline = std::chrono::steady_clock::now() + kSpin;
  for (int i = 0;; ++i) {
    if (ready()) return true;
    if ((i & 63) == 63 && std::chrono::steady_clock::now() >= deadline) return ready();
    cpu_relax();
  }
}

class Pool {
 public:
  // False (and nothing run) when another thread's run holds the pool.
  bool try_run(int threads, const std::function<void(int)>& body) {
    std::unique_lock<std::mutex> one_run_at_a_time(run_mutex_, std::try_to_lock);
    if (!one_run_at_a_time.owns_lock()) return false;
    grow(threads - 1);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      active_ = threads - 1;
      pending_.store(threads - 1, std::memory_order_relaxed);
      error_ = nullptr;
      generation_.fetch_add(1, std::memory_order_release);
    }
    wake_.notify_all();
    std::exception_ptr mine;
    try {
      body(0);
    } catch (...) {
      mine = std::current_exception();
    }
    auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (spin_until(all_done)) {
      lock.lock();
    } else {
      lock.lock();
      done_.wait(lock, all_done);
    }
    body_ = nullptr;
    if (mine) std::rethrow_exception(mine);
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  void grow(int workers) {
    while (static_cast<int>(threads_.size()) < workers) {
      const int index = static_cast<int>(threads_.size()) + 1;
      threads_.emplace_back([this, index] { work(index); });
      threads_.back().detach();  // the pool lives as long as the process
    }
  }

  void work(int index) {
    inside_run = true;
    uint64_t seen = 0;
    auto new_run = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    for (;;) {
      const std::function<void(int)>* body = nullptr;
      const bool spun = spin_until(new_run);
      {
        // The generation, the thread count and the body are read together
        // under the lock, so a late worker never mixes two runs.
        std::unique_lock<std::mutex> lock(mutex_);
        if (!spun) wake_.wait(lock, new_run);
        seen = generation_.load(std::memory_order_relaxed);
        if (index > active_) continue;  // this run needs fewer threads
        body = body_;
      }
      std::exception_ptr err;
      try {
        (*body)(index);
      } catch (...) {
        err = std::current_exception();
      }
      std::lock_guard<std::mutex> lock(mutex_);
      if (err && !error_) error_ = err;
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) done_.notify_one();
    }
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* body_ = nullptr;
  int active_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint64_t> generation_{0};
  std::exception_ptr error_;
};

// A forked child has none of the parent's worker threads: it runs serially.
std::atomic<bool> in_forked_child{false};

// Never destroyed: its detached threads may still be waiting at exit.
Pool& pool() {
  static auto* p = [] {
    pthread_atfork(nullptr, nullptr, [] { in_forked_child = true; });
    return new Pool();
  }();
  return *p;
}

}  // namespace

namespace {
std::atomic<int> requested_threads{0};  // 0: follow OpenMP
}  // namespace

int pool_threads() {
  const int n = requested_threads.load(std::memory_order_relaxed);
  return n > 0 ? n : omp_get_max_threads();
}

void set_pool_threads(int n) { requested_threads.store(n, std::memory_order_relaxed); }

void parallel_run(int threads, const std::function<void(int)>& body) {
  if (threads <= 1 || inside_run || omp_in_parallel() || in_forked_child) {
    for (int t = 0; t < threads; ++t) body(t);
    return;
  }
  inside_run = true;
  bool ran = false;
  try {
    ran = pool().try_run(threads, body);
  } catch (...) {
    inside_run = false;
    throw;
  }
  inside_run = false;
  // Another thread (say a data-loading worker) is using the pool: run here.
  if (!ran)
    for (int t = 0; t < threads; ++t) body(t);
}

}  // namespace kiln::cpu
