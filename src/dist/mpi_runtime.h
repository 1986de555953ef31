// The process's MPI: one thread that initialises MPI, makes every MPI call
// in submission order, and finalises MPI at the end.
//
// Why a thread: Open MPI's non-blocking collectives advance only while some
// MPI call runs, so an MPI_Iallreduce started during backward would mostly
// happen inside the final wait. A thread running blocking collectives one
// after another makes them progress while backward computes, and keeps MPI
// at MPI_THREAD_FUNNELED (only this thread, the one that called
// MPI_Init_thread, ever calls MPI). It also gives the ordering rule for free:
// collectives run in the order they were submitted, the same on every rank.
#pragma once
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include <mpi.h>

#include "dist/work.h"

namespace kiln::dist::detail {

class MpiRuntime {
 public:
  // Starts the thread and MPI on first use.
  static MpiRuntime& instance();
  ~MpiRuntime();
  MpiRuntime(const MpiRuntime&) = delete;
  MpiRuntime& operator=(const MpiRuntime&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

  // Runs fn on the MPI thread after everything submitted before it. The Work
  // completes when fn returns (with fn's exception, if it throws) and records
  // how long fn ran.
  Work submit(std::function<void()> fn);
  // Runs fn on the MPI thread and waits for it.
  void run(std::function<void()> fn) { submit(std::move(fn)).wait(); }
  // Finalises MPI (if kiln initialised it) and stops the thread; idempotent.
  void shutdown();

  // The MPI_Op for a reduction of 16-bit floats (MPI has no such type):
  // user functions that compute in float. Created at start-up.
  MPI_Op half_op(bool bf16, int kind) const { return half_ops_[bf16 ? 1 : 0][kind]; }

 private:
  MpiRuntime();
  void loop();
  void start_mpi();
  void stop_mpi();

  struct Task {
    std::function<void()> fn;
    std::shared_ptr<HostWork> work;
  };
  std::thread thread_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<Task> queue_;
  bool stopping_ = false;
  bool stopped_ = false;

  bool we_initialised_ = false;
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  MPI_Op half_ops_[2][3] = {};  // [f16, bf16][sum, max, min]
};

// Throws DistError naming the call and MPI's message unless rc is MPI_SUCCESS.
void check_mpi(int rc, const char* call);

}  // namespace kiln::dist::detail
