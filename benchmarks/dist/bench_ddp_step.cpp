// Where a data-parallel training step's time goes, per rank:
//   forward    the model and the loss
//   backward   loss.backward() as the program sees it (wall), which ends by
//              waiting for the gradient collectives still in flight
//   wait       that final wait (DistributedDataParallel::last_timing)
//   compute    backward - wait: the backward's own work
//   comm       the collectives' own durations, summed over buckets (on the
//              MPI thread / NCCL stream); comm - wait of it overlapped with
//              the backward's compute
//   step       the optimizer (for ZeRO-1 with the parameter all-gather)
// Each figure is the mean over steps after warm-up, then the mean over ranks.
//
//   mpirun -np N bench_ddp_step [--model mlp|cnn] [--batch B] [--steps S] [--bucket-mb X]
//                               [--first-bucket-mb Y] [--zero 1] [--device cpu|cuda]
//
// --bucket-mb 100000 --first-bucket-mb 100000 puts every gradient into one
// bucket, whose all-reduce can start only when backward is over: the
// no-overlap baseline.
#include <kiln/kiln.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "fashion_mnist/model.h"

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

// ~10.5 M parameters (42 MB of f32 gradients): three 25 MiB-class buckets.
kiln::nn::Sequential make_mlp() {
  using namespace kiln::nn;
  return Sequential(Linear(784, 2048), ReLU(), Linear(2048, 2048), ReLU(), Linear(2048, 2048), ReLU(),
                    Linear(2048, 10));
}

}  // namespace

int main(int argc, char** argv) {
  std::string model_name = "mlp", device_name = "cpu";
  int64_t batch = 64;
  int steps = 20, warmup = 3;
  double bucket_mb = 25, first_bucket_mb = 1;
  bool zero = false;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const char* v = argv[i + 1];
    if (k == "--model") model_name = v;
    else if (k == "--batch") batch = std::atoll(v);
    else if (k == "--steps") steps = std::atoi(v);
    else if (k == "--bucket-mb") bucket_mb = std::atof(v);
    else if (k == "--first-bucket-mb") first_bucket_mb = std::atof(v);
    else if (k == "--zero") zero = std::atoi(v) != 0;
    else if (k == "--device") device_name = v;
    else {
      std::fprintf(stderr, "unknown option %s\n", k.c_str());
      return 2;
    }
  }
  try {
    kiln::dist::InitOptions init;
    init.device(kiln::Device(device_name));
    const auto& env = kiln::dist::init(init);
    const kiln::Device device = kiln::dist::device();
    kiln::manual_seed(0);
    kiln::nn::Sequential model = model_name == "cnn" ? fashion_mnist::make_cnn() : make_mlp();
    model->to(device);
    kiln::dist::DistributedDataParallel ddp(
        model, kiln::dist::DDPOptions()
                   .bucket_cap_bytes(static_cast<size_t>(bucket_mb * (1 << 20)))
                   .first_bucket_cap_bytes(static_cast<size_t>(first_bucket_mb * (1 << 20))));
    std::unique_ptr<kiln::optim::Optimizer> opt;
    if (zero)
      opt = std::make_unique<kiln::dist::ZeroRedundancyOptimizer>(ddp, [](std::vector<kiln::optim::OptimizerParamGroup> g) {
        return std::make_unique<kiln::optim::SGD>(std::move(g), kiln::optim::SGDOptions(0.01).momentum(0.9));
      });
    else
      opt = std::make_unique<kiln::optim::SGD>(model->parameters(), kiln::optim::SGDOptions(0.01).momentum(0.9));
    const kiln::Shape input = model_name == "cnn" ? kiln::Shape{batch, 1, 28, 28} : kiln::Shape{batch, 784};
    const kiln::Tensor x = kiln::randn(input).to(device), y = kiln::randint(0, 10, {batch}).to(device);
    auto sync = [&] {
      if (device.is_cuda()) kiln::cuda::synchronize(device.index());
    };

    double fwd = 0, bwd = 0, wait = 0, comm = 0, step = 0, graph = 0;
    std::vector<double> launches(ddp.buckets().size(), 0.0);
    for (int s = 0; s < warmup + steps; ++s) {
      sync();
      auto t0 = Clock::now();
      kiln::Tensor loss = kiln::cross_entropy(model(x), y);
      sync();
      const double f = since(t0);
      opt->zero_grad();
      t0 = Clock::now();
      loss.backward();
      sync();
      const double b = since(t0);
      t0 = Clock::now();
      opt->step();
      sync();
      const double o = since(t0);
      const kiln::dist::SyncTiming timing = ddp.last_timing();
      if (s >= warmup) {
        fwd += f, bwd += b, step += o, wait += timing.wait_seconds, comm += timing.comm_seconds;
        graph += timing.backward_seconds;
        for (size_t k = 0; k < launches.size() && k < timing.launch_seconds.size(); ++k)
          launches[k] += timing.launch_seconds[k];
      }
    }
    auto mean = [&](double total) { return 1e3 * kiln::dist::all_reduce_mean(total / steps); };
    const double m_fwd = mean(fwd), m_bwd = mean(bwd), m_wait = mean(wait), m_comm = mean(comm), m_step = mean(step);
    const double m_graph = mean(graph);
    std::string launch_ms;
    for (double l : launches) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.1f", launch_ms.empty() ? "" : ", ", mean(l));
      launch_ms += buf;
    }
    if (kiln::dist::is_main_process()) {
      size_t bytes = 0;
      std::string sizes;
      for (const auto& b : ddp.buckets()) {
        bytes += static_cast<size_t>(b.numel) * kiln::element_size(b.dtype);
        sizes += (sizes.empty() ? "" : "+") + std::to_string(b.numel * kiln::element_size(b.dtype) / 1000) + "k";
      }
      const double total = m_fwd + m_bwd + m_step;
      std::printf("%s, %d rank(s), batch %lld per rank, %zu buckets (%s bytes)%s:\n"
                  "  step %.1f ms = forward %.1f + backward %.1f + optimizer %.1f\n"
                  "  backward = compute %.1f + wait %.1f; collectives %.1f ms, of which %.1f overlapped backward\n",
                  model_name.c_str(), env.world_size, static_cast<long long>(batch), ddp.buckets().size(),
                  sizes.c_str(), zero ? ", ZeRO-1" : "", total, m_fwd, m_bwd, m_step, m_bwd - m_wait, m_wait, m_comm,
                  std::max(0.0, m_comm - m_wait));
      std::printf("  from the first gradient: graph done at %.1f ms, buckets started at %s ms\n", m_graph,
                  launch_ms.c_str());
      const char* commit = std::getenv("KILN_GIT_COMMIT");
      std::fprintf(stderr,
                   "{\"bench\": \"ddp_step\", \"version\": \"%s\", \"model\": \"%s\", \"device\": \"%s\", \"ranks\": %d, "
                   "\"batch\": %lld, \"buckets\": %zu, \"grad_bytes\": %zu, \"zero\": %d, \"ms_step\": %.3f, "
                   "\"ms_forward\": %.3f, \"ms_backward\": %.3f, \"ms_wait\": %.3f, \"ms_comm\": %.3f, "
                   "\"ms_optimizer\": %.3f, \"commit\": \"%s\"}\n",
                   ddp.communicator().backend().c_str(), model_name.c_str(), device.str().c_str(), env.world_size,
                   static_cast<long long>(batch), ddp.buckets().size(), bytes, zero ? 1 : 0, total, m_fwd, m_bwd,
                   m_wait, m_comm, m_step, commit ? commit : "unknown");
    }
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "bench_ddp_step: %s\n", e.what());
    return 1;
  }
  return 0;
}
