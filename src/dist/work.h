// What a Work handle points to. Internal to src/dist.
#pragma once
#include <condition_variable>
#include <exception>
#include <mutex>

#include "kiln/dist/communicator.h"

namespace kiln::dist {

struct Work::Impl {
  virtual ~Impl() = default;
  virtual void wait() = 0;
  virtual bool is_completed() = 0;
  virtual double seconds() = 0;
};

namespace detail {

// A collective that a host thread carries out (the MPI progress thread):
// finish() is called once from that thread, wait() blocks until then.
class HostWork : public Work::Impl {
 public:
  void finish(std::exception_ptr error, double seconds) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      error_ = std::move(error);
      seconds_ = seconds;
      done_ = true;
    }
    cv_.notify_all();
  }
  void wait() override {
    std::unique_lock<std::mutex> lock(mutex_);
    cv_.wait(lock, [&] { return done_; });
    if (error_) std::rethrow_exception(error_);
  }
  bool is_completed() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_;
  }
  double seconds() override {
    std::lock_guard<std::mutex> lock(mutex_);
    return done_ ? seconds_ : 0.0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  bool done_ = false;
  std::exception_ptr error_;
  double seconds_ = 0;
};

}  // namespace detail
}  // namespace kiln::dist
