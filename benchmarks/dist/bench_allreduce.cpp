// All-reduce (sum) bandwidth on the ranks available, reported as nccl-tests
// does:
//   time   the slowest rank's mean time per all-reduce (blocking, back to back)
//   algbw  bytes / time
//   busbw  algbw * 2 (n - 1) / n: what each rank's link carries in a ring
//          all-reduce, comparable across rank counts and with link speeds
//
//   mpirun -np N bench_allreduce [--device cpu|cuda] [--min-bytes B] [--max-bytes B] [--seconds S]
//
// CPU tensors go through the MPI communicator, CUDA tensors through NCCL
// (timed with a device synchronise after the batch). One JSON line per size
// and a table on rank 0.
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

namespace {

using Clock = std::chrono::steady_clock;

double now_s() { return std::chrono::duration<double>(Clock::now().time_since_epoch()).count(); }

}  // namespace

int main(int argc, char** argv) {
  std::string device_name = "cpu";
  int64_t min_bytes = 1024, max_bytes = int64_t{1} << 30;
  double seconds = 0.5;  // aimed at per size
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    if (k == "--device") device_name = argv[i + 1];
    else if (k == "--min-bytes") min_bytes = std::atoll(argv[i + 1]);
    else if (k == "--max-bytes") max_bytes = std::atoll(argv[i + 1]);
    else if (k == "--seconds") seconds = std::atof(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    kiln::dist::InitOptions init;
    init.device(kiln::Device(device_name));
    const auto& env = kiln::dist::init(init);
    auto comm = kiln::dist::communicator();
    const kiln::Device device = kiln::dist::device();
    const int n = env.world_size;
    const bool main = kiln::dist::is_main_process();
    const char* commit = std::getenv("KILN_GIT_COMMIT");
    if (main)
      std::printf("# all_reduce sum, float32, %d ranks (%s), %s communicator on %s\n"
                  "# %12s %12s %10s %12s %12s\n",
                  n, env.launcher.c_str(), comm->backend().c_str(), device.str().c_str(), "bytes", "elements",
                  "time(us)", "algbw(GB/s)", "busbw(GB/s)");
    kiln::Tensor buffer = kiln::ones({max_bytes / 4}, kiln::TensorOptions().dtype(kiln::kFloat32).device(device));
    auto sync = [&] {
      if (device.is_cuda()) kiln::cuda::synchronize(device.index());
    };
    for (int64_t bytes = min_bytes; bytes <= max_bytes; bytes *= 2) {
      const int64_t count = bytes / 4;
      kiln::Tensor t = buffer.narrow(0, 0, count);
      // Warm up, and estimate how many repetitions fill `seconds`.
      comm->barrier();
      sync();
      double t0 = now_s();
      comm->all_reduce(t);
      sync();
      const double first = kiln::dist::all_reduce_max(now_s() - t0);
      const int reps = static_cast<int>(std::max(1.0, std::min(1000.0, seconds / std::max(first, 1e-6))));
      comm->barrier();
      sync();
      t0 = now_s();
      for (int r = 0; r < reps; ++r) comm->all_reduce_async(t).wait();
      sync();
      const double per = kiln::dist::all_reduce_max(now_s() - t0) / reps;
      const double algbw = bytes / per / 1e9;
      const double busbw = algbw * 2.0 * (n - 1) / n;
      if (main) {
        std::printf("  %12lld %12lld %10.1f %12.3f %12.3f\n", static_cast<long long>(bytes),
                    static_cast<long long>(count), per * 1e6, algbw, busbw);
        std::fprintf(stderr,
                     "{\"bench\": \"allreduce\", \"version\": \"%s\", \"device\": \"%s\", \"ranks\": %d, \"bytes\": %lld, "
                     "\"dtype\": \"float32\", \"reps\": %d, \"us\": %.2f, \"algbw_GBps\": %.4f, \"busbw_GBps\": %.4f, "
                     "\"commit\": \"%s\"}\n",
                     comm->backend().c_str(), device.str().c_str(), n, static_cast<long long>(bytes), reps, per * 1e6,
                     algbw, busbw, commit ? commit : "unknown");
      }
    }
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "bench_allreduce: %s\n", e.what());
    return 1;
  }
  return 0;
}
