// dist::init(): the launcher's environment, the device binding and the
// process's communicators.
#include "kiln/dist/init.h"

#include <cstdlib>
#include <mutex>

#include "dist/mpi_shutdown.h"
#include "kiln/cuda.h"

#if KILN_WITH_CUDA
#include <cuda_runtime.h>
#endif

namespace kiln::dist {

namespace {

// A non-negative integer from the environment, or -1 when the variable is unset.
int read_int(const std::function<const char*(const char*)>& getenv, const char* name) {
  const char* v = getenv(name);
  if (v == nullptr || *v == '\0') return -1;
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  KILN_CHECK(end != v && *end == '\0' && x >= 0 && x < (1L << 30), ValueError, "dist::init: environment variable ",
             name, "=\"", v, "\" is not a non-negative integer");
  return static_cast<int>(x);
}

struct Scheme {
  const char* launcher;
  const char* rank;
  const char* size;
  const char* local_rank;
  const char* local_size;
};

// Launchers in order of precedence: srun may start Open MPI programs (both
// sets then exist and agree), and RANK/WORLD_SIZE is the generic fallback.
constexpr Scheme kSchemes[] = {
    {"mpirun", "OMPI_COMM_WORLD_RANK", "OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_LOCAL_RANK", "OMPI_COMM_WORLD_LOCAL_SIZE"},
    {"slurm", "SLURM_PROCID", "SLURM_NTASKS", "SLURM_LOCALID", "SLURM_NTASKS_PER_NODE"},
    {"env", "RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"},
};

}  // namespace

Environment environment_from(const std::function<const char*(const char*)>& getenv) {
  Environment env;
  for (const Scheme& s : kSchemes) {
    const int rank = read_int(getenv, s.rank), size = read_int(getenv, s.size);
    if (rank < 0 && size < 0) continue;
    KILN_CHECK(rank >= 0 && size >= 1, ValueError, "dist::init: ", s.launcher, " environment is incomplete: ", s.rank,
               " and ", s.size, " must both be set (size >= 1)");
    KILN_CHECK(rank < size, ValueError, "dist::init: ", s.rank, "=", rank, " is not below ", s.size, "=", size);
    env.launcher = s.launcher;
    env.rank = rank;
    env.world_size = size;
    const int local = read_int(getenv, s.local_rank), local_size = read_int(getenv, s.local_size);
    env.local_rank = local < 0 ? 0 : local;
    env.local_world_size = local_size < 1 ? (local < 0 ? 1 : local + 1) : local_size;
    KILN_CHECK(env.local_rank < env.local_world_size && env.local_world_size <= size, ValueError, "dist::init: ",
               s.local_rank, "=", env.local_rank, " must be below the ranks on this machine (", env.local_world_size,
               ") and those at most ", s.size, "=", size);
    return env;
  }
  return env;
}

Environment detect_environment() {
  return environment_from([](const char* name) { return std::getenv(name); });
}

// --- the process's state -------------------------------------------------------------

namespace {

struct State {
  std::mutex mutex;
  bool initialised = false;
  bool finalised = false;
  Environment env;
  Device device = Device(kCPU);
  std::shared_ptr<Communicator> cpu;
  std::shared_ptr<Communicator> device_comm;
};

State& state() {
  static State s;
  return s;
}

Device choose_device(const InitOptions& options, const Environment& env) {
  if (options.has_device()) return options.device();
  if (cuda::is_available()) return Device(kCUDA, env.local_rank % cuda::device_count());
  return Device(kCPU);
}

}  // namespace

const Environment& init(const InitOptions& options) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  KILN_CHECK(!s.finalised, DistError, "dist::init: called after dist::finalize() (MPI can start once per process)");
  if (s.initialised) {
    KILN_CHECK(!options.has_device() || options.device() == s.device, ValueError, "dist::init: already initialised for ",
               s.device, ", asked again for ", options.device());
    return s.env;
  }
  Environment env = detect_environment();
  const Device device = choose_device(options, env);
  if (device.is_cuda()) {
#if KILN_WITH_CUDA
    KILN_CHECK(device.index() < cuda::device_count(), DeviceError, "dist::init: rank ", env.rank, " (local rank ",
               env.local_rank, ") asked for ", device, " but this machine has ", cuda::device_count(), " GPUs");
    // Every later CUDA call of this thread goes to this rank's GPU.
    const cudaError_t err = cudaSetDevice(device.index());
    KILN_CHECK(err == cudaSuccess, CudaError, "dist::init: cudaSetDevice(", device.index(),
               ") failed: ", cudaGetErrorString(err));
#else
    throw DeviceError(kiln::detail::str_cat("dist::init: ", device, " asked for, but kiln was built without CUDA"));
#endif
  }

  std::shared_ptr<Communicator> cpu;
  if (env.world_size == 1) {
    cpu = make_local_communicator();
  } else {
    cpu = make_mpi_communicator();
    KILN_CHECK(cpu->rank() == env.rank && cpu->world_size() == env.world_size, DistError, "dist::init: the ",
               env.launcher, " environment says rank ", env.rank, " of ", env.world_size, " but MPI says rank ",
               cpu->rank(), " of ", cpu->world_size(),
               " (start the program with mpirun or srun --mpi=pmix so that MPI sees every rank)");
  }
  std::shared_ptr<Communicator> device_comm = cpu;
  if (device.is_cuda() && env.world_size > 1) device_comm = make_nccl_communicator(device.index(), cpu);

  s.env = env;
  s.device = device;
  s.cpu = std::move(cpu);
  s.device_comm = std::move(device_comm);
  s.initialised = true;
  return s.env;
}

bool is_initialized() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  return s.initialised;
}

void finalize() {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  s.device_comm.reset();
  s.cpu.reset();
  s.initialised = false;
  s.finalised = true;
  detail::shutdown_mpi();
}

const Environment& environment() {
  if (!is_initialized()) init();
  return state().env;
}
int rank() { return environment().rank; }
int world_size() { return environment().world_size; }
int local_rank() { return environment().local_rank; }
bool is_main_process() { return rank() == 0; }
Device device() {
  environment();
  return state().device;
}
std::shared_ptr<Communicator> communicator() {
  environment();
  return state().device_comm;
}
std::shared_ptr<Communicator> cpu_communicator() {
  environment();
  return state().cpu;
}

}  // namespace kiln::dist
