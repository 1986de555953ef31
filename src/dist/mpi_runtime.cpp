#include "dist/mpi_runtime.h"

#include <atomic>
#include <chrono>

#include "dist/mpi_shutdown.h"

#include "kiln/core/half.h"

namespace kiln::dist::detail {

void check_mpi(int rc, const char* call) {
  if (rc == MPI_SUCCESS) return;
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  throw DistError(kiln::detail::str_cat(call, " failed: ", std::string(text, static_cast<size_t>(len)), " (MPI error ",
                                        rc, ")"));
}

namespace {

// MPI user reductions over 16-bit floats: each element is widened to float,
// combined, and rounded back (MPI_Op_create's signature).
template <class T, int kKind>
void half_reduce(void* in, void* inout, int* len, MPI_Datatype*) {
  const T* a = static_cast<const T*>(in);
  T* b = static_cast<T*>(inout);
  for (int i = 0; i < *len; ++i) {
    const float x = a[i], y = b[i];
    float r;
    if constexpr (kKind == 0) r = x + y;
    else if constexpr (kKind == 1) r = (x > y || x != x) ? x : y;  // NaN wins, as in MPI_MAX on floats
    else r = (x < y || x != x) ? x : y;
    b[i] = T(r);
  }
}

std::atomic<bool> started{false};
bool mpi_runtime_started() { return started.load(); }

}  // namespace

MpiRuntime& MpiRuntime::instance() {
  static MpiRuntime runtime;
  return runtime;
}

MpiRuntime::MpiRuntime() {
  thread_ = std::thread([this] { loop(); });
  try {
    run([this] { start_mpi(); });
    started = true;
  } catch (...) {
    shutdown();
    throw;
  }
}

MpiRuntime::~MpiRuntime() { shutdown(); }

void MpiRuntime::start_mpi() {
  int initialised = 0;
  check_mpi(MPI_Initialized(&initialised), "MPI_Initialized");
  if (initialised) {
    // The program started MPI itself: kiln's thread is then not MPI's main
    // thread, so MPI must allow calls from any thread.
    int provided = 0;
    check_mpi(MPI_Query_thread(&provided), "MPI_Query_thread");
    KILN_CHECK(provided >= MPI_THREAD_MULTIPLE, DistError,
               "dist: MPI was initialised by the program with thread level ", provided,
               "; kiln calls MPI from its own thread and needs MPI_THREAD_MULTIPLE when it does not initialise MPI "
               "itself (or let kiln initialise it)");
  } else {
    int provided = 0;
    check_mpi(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided), "MPI_Init_thread");
    we_initialised_ = true;
  }
  // Errors come back as return codes (turned into DistError) instead of aborting the job.
  check_mpi(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
  check_mpi(MPI_Comm_rank(MPI_COMM_WORLD, &rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(MPI_COMM_WORLD, &size_), "MPI_Comm_size");
  MPI_Comm node;
  check_mpi(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, rank_, MPI_INFO_NULL, &node),
            "MPI_Comm_split_type");
  check_mpi(MPI_Comm_rank(node, &local_rank_), "MPI_Comm_rank");
  check_mpi(MPI_Comm_size(node, &local_size_), "MPI_Comm_size");
  check_mpi(MPI_Comm_free(&node), "MPI_Comm_free");
  MPI_User_function* fns[2][3] = {{half_reduce<Half, 0>, half_reduce<Half, 1>, half_reduce<Half, 2>},
                                  {half_reduce<BFloat16, 0>, half_reduce<BFloat16, 1>, half_reduce<BFloat16, 2>}};
  for (int t = 0; t < 2; ++t)
    for (int k = 0; k < 3; ++k) check_mpi(MPI_Op_create(fns[t][k], /*commute=*/1, &half_ops_[t][k]), "MPI_Op_create");
}

void MpiRuntime::stop_mpi() {
  for (auto& row : half_ops_)
    for (MPI_Op& op : row)
      if (op != MPI_OP_NULL && op != MPI_Op{}) MPI_Op_free(&op);
  int finalised = 0;
  MPI_Finalized(&finalised);
  if (we_initialised_ && !finalised) MPI_Finalize();
}

Work MpiRuntime::submit(std::function<void()> fn) {
  auto work = std::make_shared<HostWork>();
  {
    std::lock_guard<std::mutex> lock(mutex_);
    KILN_CHECK(!stopping_, DistError, "dist: MPI has been finalised (dist::finalize() or process exit)");
    queue_.push_back({std::move(fn), work});
  }
  cv_.notify_one();
  return Work(work);
}

void MpiRuntime::loop() {
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) break;  // stopping, and everything submitted has run
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto t0 = std::chrono::steady_clock::now();
    std::exception_ptr error;
    try {
      task.fn();
    } catch (...) {
      error = std::current_exception();
    }
    task.work->finish(error, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  // Last act of the thread that initialised MPI.
  stop_mpi();
}

void MpiRuntime::shutdown() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopped_) return;
    stopping_ = true;
    stopped_ = true;
  }
  cv_.notify_one();
  if (thread_.joinable()) thread_.join();
}

}  // namespace kiln::dist::detail

namespace kiln::dist::detail {
// Only a runtime that was started is stopped: instance() would start one.
void shutdown_mpi() {
  if (mpi_runtime_started()) MpiRuntime::instance().shutdown();
}
}  // namespace kiln::dist::detail
