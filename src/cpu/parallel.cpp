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

// A run's tasks body(0) .. body(tasks - 1) are claimed one at a time by the
// caller and the woken workers alike, so a worker whose vCPU the host has
// descheduled holds up nothing: the caller runs the tasks nobody claimed.
// (With each thread tied to its own task, one preempted vCPU made a
// 2-thread char_gpt step slower than a 1-thread one: 6,200 against 9,000
// tokens/s.) Which thread runs a task does not change what it computes:
// bodies index their outputs and scratch by the task, not by the thread.
class Pool {
 public:
  // False (and nothing run) when another thread's run holds the pool.
  bool try_run(int threads, const std::function<void(int)>& body) {
    std::unique_lock<std::mutex> one_run_at_a_time(run_mutex_, std::try_to_lock);
    if (!one_run_at_a_time.owns_lock()) return false;
    grow(threads - 1);
    uint32_t gen;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      body_ = &body;
      tasks_ = threads;
      pending_.store(threads, std::memory_order_relaxed);
      error_ = nullptr;
      gen = static_cast<uint32_t>(generation_.load(std::memory_order_relaxed) + 1);
      claim_.store(uint64_t{gen} << 32, std::memory_order_relaxed);
      generation_.store(gen, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks(gen, threads, &body);
    auto all_done = [this] { return pending_.load(std::memory_order_acquire) == 0; };
    std::unique_lock<std::mutex> lock(mutex_, std::defer_lock);
    if (spin_until(all_done)) {
      lock.lock();
    } else {
      lock.lock();
      done_.wait(lock, all_done);
    }
    body_ = nullptr;
    if (error_) std::rethrow_exception(error_);
    return true;
  }

 private:
  // Claims and runs tasks of generation `gen` until none is left. The claim
  // counter holds the generation in its high half, so a worker that wakes
  // after its run has ended can never claim a task of the next one.
  void run_tasks(uint32_t gen, int tasks, const std::function<void(int)>* body) {
    for (;;) {
      uint64_t c = claim_.load(std::memory_order_acquire);
      int t;
      do {
        if (static_cast<uint32_t>(c >> 32) != gen) return;
        t = static_cast<int>(c & 0xffffffffu);
        if (t >= tasks) return;
      } while (!claim_.compare_exchange_weak(c, c + 1, std::memory_order_acq_rel, std::memory_order_acquire));
      std::exception_ptr err;
      try {
        (*body)(t);
      } catch (...) {
        err = std::current_exception();
      }
      if (err) {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!error_) error_ = err;
      }
      if (pending_.fetch_sub(1, std::memory_order_acq_rel) == 1) {
        std::lock_guard<std::mutex> lock(mutex_);
        done_.notify_one();
      }
    }
  }

  void grow(int workers) {
    while (static_cast<int>(threads_.size()) < workers) {
      threads_.emplace_back([this] { work(); });
      threads_.back().detach();  // the pool lives as long as the process
    }
  }

  void work() {
    inside_run = true;
    uint32_t seen = 0;
    auto new_run = [&] { return generation_.load(std::memory_order_acquire) != seen; };
    for (;;) {
      const bool spun = spin_until(new_run);
      const std::function<void(int)>* body = nullptr;
      int tasks = 0;
      {
        std::unique_lock<std::mutex> lock(mutex_);
        if (!spun) wake_.wait(lock, new_run);
        seen = generation_.load(std::memory_order_relaxed);
        body = body_;
        tasks = tasks_;
      }
      // body_ may already be null (the run ended before this worker woke);
      // then the claim below fails, since the run's tasks are all taken.
      if (body != nullptr) run_tasks(seen, tasks, body);
    }
  }

  std::mutex run_mutex_;
  std::mutex mutex_;
  std::condition_variable wake_, done_;
  std::vector<std::thread> threads_;
  const std::function<void(int)>* body_ = nullptr;
  int tasks_ = 0;
  std::atomic<int> pending_{0};
  std::atomic<uint32_t> generation_{0};
  std::atomic<uint64_t> claim_{0};
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
