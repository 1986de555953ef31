// Starting a data-parallel process: who am I, which device is mine, and the
// communicators for that device and for host values.
//
//   kiln::dist::init();                       // reads the launcher's environment
//   auto comm = kiln::dist::communicator();   // NCCL on a GPU, MPI on the CPU
//   if (kiln::dist::is_main_process()) std::cout << ...;
//
// The same program runs with no launcher (world size 1, no MPI started),
// under `mpirun -np N` and under `srun`. See docs/distributed.md.
#pragma once
#include <functional>
#include <memory>
#include <string>

#include "kiln/core/device.h"
#include "kiln/dist/communicator.h"

namespace kiln::dist {

// The rank layout the launcher announced.
struct Environment {
  int rank = 0;
  int world_size = 1;
  int local_rank = 0;        // index among the ranks on this machine
  int local_world_size = 1;  // ranks on this machine
  // "mpirun" (OMPI_COMM_WORLD_*), "slurm" (SLURM_PROCID/NTASKS/LOCALID),
  // "env" (RANK/WORLD_SIZE/LOCAL_RANK), "none".
  std::string launcher = "none";
};

// Reads, first found wins: Open MPI's OMPI_COMM_WORLD_RANK/SIZE/LOCAL_RANK/
// LOCAL_SIZE; Slurm's SLURM_PROCID/SLURM_NTASKS/SLURM_LOCALID (local size from
// SLURM_NTASKS_PER_NODE when set); RANK/WORLD_SIZE/LOCAL_RANK/LOCAL_WORLD_SIZE.
// A missing local rank is 0; a malformed or inconsistent value throws
// ValueError naming the variable. `getenv` is injectable for tests.
Environment environment_from(const std::function<const char*(const char*)>& getenv);
Environment detect_environment();

class InitOptions {
 public:
  // The training device. Default: cuda:(local_rank % device_count) when a
  // GPU is available, else cpu.
  InitOptions& device(Device d) { device_ = d; has_device_ = true; return *this; }
  bool has_device() const { return has_device_; }
  Device device() const { return device_; }

 private:
  Device device_ = Device(kCPU);
  bool has_device_ = false;
};

// Sets the process up once: reads the environment, makes the device current
// (cudaSetDevice) for CUDA, starts MPI when world_size > 1 (and checks that
// MPI sees the same rank and size) and creates the communicators. A second
// call returns the same environment (its options must agree).
const Environment& init(const InitOptions& options = {});
bool is_initialized();
// Drops the communicators and finalises MPI (also done at exit). After it,
// init() may not be called again in this process (MPI allows one init).
void finalize();

// The environment of init() (calling init() with defaults if needed).
const Environment& environment();
int rank();
int world_size();
int local_rank();
bool is_main_process();  // rank 0: the one that prints, logs and saves
Device device();         // the device init() chose
// Collectives for tensors on device(): NCCL for a GPU (bootstrapped over MPI),
// MPI for the CPU, local for a world of one.
std::shared_ptr<Communicator> communicator();
// Collectives for CPU tensors (metrics, flags, checkpoint decisions): MPI, or
// local for a world of one.
std::shared_ptr<Communicator> cpu_communicator();

}  // namespace kiln::dist
