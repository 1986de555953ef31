// Trains a small CNN on Fashion-MNIST and reports what a person needs to
// trust it: test accuracy, macro F1, calibration error and the confusion
// matrix. Resumable from a checkpoint. Runs as one process or as N ranks
// under mpirun / srun (data parallel). See README.md beside this file.
#include <CLI/CLI.hpp>
#include <kiln/kiln.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "model.h"

namespace {

const std::vector<std::string> kClassNames = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

struct Args {
  std::string data = kiln::data::FashionMNIST::kDefaultRoot;
  std::string device;
  int epochs = 5;
  int64_t batch_size = 128;
  double lr = 0.05;
  std::string optimizer = "sgd";
  uint64_t seed = 0;
  std::string checkpoint_dir;
  std::string resume;
  std::string log;
  int workers = 1;
  bool zero = false;
  bool local_bn = false;
  int64_t max_steps = 0;
  std::string save_weights;
  std::string compare_with;
};

using Groups = std::vector<kiln::optim::OptimizerParamGroup>;

std::unique_ptr<kiln::optim::Optimizer> make_optimizer(const Args& a, Groups groups) {
  using namespace kiln::optim;
  if (a.optimizer == "sgd")
    return std::make_unique<SGD>(std::move(groups), SGDOptions(a.lr).momentum(0.9).nesterov(true).weight_decay(5e-4));
  if (a.optimizer == "adam") return std::make_unique<Adam>(std::move(groups), AdamOptions(a.lr));
  if (a.optimizer == "adamw") return std::make_unique<AdamW>(std::move(groups), AdamWOptions(a.lr));
  throw kiln::ValueError("--optimizer must be sgd, adam or adamw, got '" + a.optimizer + "'");
}

// Test-set evaluation: accuracy, macro F1, ECE and the confusion matrix. Each
// rank runs its shard of the test set; the logits come back in dataset order
// on every rank, so the metrics are those of one process on all 10,000 images.
void evaluate(kiln::nn::Sequential& model, kiln::data::DataLoader& test, kiln::metrics::MetricsLogger* log,
              int64_t epoch) {
  kiln::NoGradGuard no_grad;
  model->eval();
  std::vector<kiln::Tensor> logits, targets;
  for (auto& batch : test) {
    logits.push_back(model(batch.data).cpu());
    targets.push_back(batch.target.cpu());
  }
  model->train();
  const int64_t n = test.dataset().size();
  const kiln::Tensor all_logits = kiln::dist::gather_rows_in_dataset_order(kiln::cat(logits, 0), n);
  const kiln::Tensor all_targets = kiln::dist::gather_rows_in_dataset_order(kiln::cat(targets, 0), n);
  if (!kiln::dist::is_main_process()) return;
  kiln::metrics::ConfusionMatrix cm(10, kClassNames);
  kiln::metrics::CalibrationError ece(15);
  cm.update(all_logits, all_targets);
  ece.update(kiln::softmax(all_logits, 1), all_targets);
  const double loss = kiln::cross_entropy(all_logits, all_targets).item<double>();
  std::cout << std::fixed << std::setprecision(4) << "test: loss " << loss << "  accuracy " << cm.accuracy()
            << "  macro F1 " << cm.macro_f1() << "  ECE " << ece.compute() << "\n";
  if (log) log->log_epoch(epoch, {{"test_loss", loss}, {"test_accuracy", cm.accuracy()},
                                  {"test_macro_f1", cm.macro_f1()}, {"test_ece", ece.compute()}});
  if (epoch < 0) std::cout << cm;
}

// How far the final weights are from a reference file's: the largest
// |w - w_ref| over the model's tensors (the file's "model.*" for a checkpoint,
// bare names for --save-weights output), where it is, and the largest
// difference relative to the tensor's own scale (its max |w_ref|).
struct WeightDifference {
  double max_abs = 0, max_rel = 0;
  std::string where;
};
WeightDifference weight_difference(const kiln::nn::Module& model, const std::string& path) {
  const auto file = kiln::io::load_safetensors(path);
  WeightDifference d;
  for (const auto& [name, t] : model.state_dict()) {
    auto it = file.tensors.find("model." + name);
    if (it == file.tensors.end()) it = file.tensors.find(name);
    if (it == file.tensors.end()) throw kiln::ValueError("--compare-with: " + path + " has no tensor " + name);
    const auto a = t.to_vector<double>(), b = it->second.to_vector<double>();
    double scale = 0, worst = 0;
    for (size_t i = 0; i < a.size(); ++i) {
      scale = std::max(scale, std::abs(b[i]));
      worst = std::max(worst, std::abs(a[i] - b[i]));
    }
    if (worst > d.max_abs) {
      d.max_abs = worst;
      d.where = name;
    }
    if (scale > 0) d.max_rel = std::max(d.max_rel, worst / scale);
  }
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"Train a CNN on Fashion-MNIST with kiln (one process, or N ranks under mpirun/srun)"};
  app.add_option("--data", a.data, "directory with the Fashion-MNIST IDX files (.gz or raw)");
  app.add_option("--device", a.device, "cpu or cuda[:N] (default: this rank's GPU if there is one, else cpu)");
  app.add_option("--epochs", a.epochs, "training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", a.batch_size, "examples per step on each rank")->check(CLI::PositiveNumber);
  app.add_option("--lr", a.lr, "peak learning rate (cosine schedule with warmup)")->check(CLI::PositiveNumber);
  app.add_option("--optimizer", a.optimizer, "sgd, adam or adamw")->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--seed", a.seed, "seed for initialisation and shuffling");
  app.add_option("--checkpoint-dir", a.checkpoint_dir, "save a checkpoint after every epoch here");
  app.add_option("--resume", a.resume, "checkpoint file to resume from (same world size)");
  app.add_option("--log", a.log, "CSV or JSONL file for per-step losses and per-epoch metrics");
  app.add_option("--workers", a.workers, "data loader threads");
  app.add_flag("--zero", a.zero, "ZeRO-1: shard the optimizer state over the ranks");
  app.add_flag("--local-bn", a.local_bn, "with several ranks, normalise by each rank's own batch statistics");
  app.add_option("--max-steps", a.max_steps, "stop after this many steps (0: train every epoch)");
  app.add_option("--save-weights", a.save_weights, "write the final weights to this safetensors file");
  app.add_option("--compare-with", a.compare_with, "print the largest difference of the final weights to this file's");
  CLI11_PARSE(app, argc, argv);

  try {
    kiln::dist::InitOptions init;
    if (!a.device.empty()) init.device(kiln::Device(a.device));
    const auto& env = kiln::dist::init(init);
    const kiln::Device device = kiln::dist::device();
    const bool main_rank = kiln::dist::is_main_process();
    const int world = env.world_size;
    const bool sync_bn = world > 1 && !a.local_bn;
    if (main_rank)
      std::cout << "kiln fashion_mnist: device " << device << ", " << a.epochs << " epochs, batch " << a.batch_size
                << (world > 1 ? " per rank x " + std::to_string(world) + " ranks (" + env.launcher + ")" : "") << ", "
                << a.optimizer << " lr " << a.lr << (a.zero ? ", ZeRO-1" : "")
                << (world > 1 ? (sync_bn ? ", SyncBatchNorm" : ", per-rank BatchNorm") : "") << "\n";
    kiln::manual_seed(a.seed);

    using kiln::data::FashionMNIST;
    auto train_set = std::make_shared<FashionMNIST>(a.data, kiln::data::Split::Train);
    auto test_set = std::make_shared<FashionMNIST>(a.data, kiln::data::Split::Test);
    // Each rank takes its shard of the seeded shuffle; together the ranks'
    // batches k are the batch k one process would draw with batch_size * world.
    kiln::data::DataLoader train(train_set, kiln::data::DataLoaderOptions().batch_size(a.batch_size).shuffle(true)
                                                .seed(a.seed).drop_last(true).num_workers(a.workers)
                                                .pin_memory(device.is_cuda()).device(device)
                                                .rank(env.rank).world_size(world));
    kiln::data::DataLoader test(test_set, kiln::data::DataLoaderOptions().batch_size(1000).num_workers(a.workers)
                                              .pin_memory(device.is_cuda()).device(device)
                                              .rank(env.rank).world_size(world));

    auto model = fashion_mnist::make_cnn(16, 32, sync_bn);
    model->to(device);
    kiln::io::TrainingState resumed;
    if (!a.resume.empty()) {
      // Every rank reads the file (it must be visible to all of them).
      resumed = kiln::io::load_checkpoint(a.resume, device, model->state_dict());
      kiln::dist::check_world_size(resumed);
      model->load_state_dict(resumed.model);
    }
    // Broadcasts rank 0's weights, checks every rank built the same model,
    // and from here on averages the gradients during backward.
    kiln::dist::DistributedDataParallel ddp(model);
    std::unique_ptr<kiln::optim::Optimizer> opt;
    if (a.zero) {
      opt = std::make_unique<kiln::dist::ZeroRedundancyOptimizer>(ddp, [&](Groups shards) {
        return make_optimizer(a, std::move(shards));
      });
    } else {
      opt = make_optimizer(a, Groups{kiln::optim::OptimizerParamGroup(model->parameters())});
    }
    const int64_t steps_per_epoch = train.size();
    kiln::optim::CosineAnnealingLR schedule(*opt, steps_per_epoch * a.epochs, 0.0, steps_per_epoch / 2);

    int64_t start_epoch = 0, step = 0;
    if (!a.resume.empty()) {
      opt->load_state_dict(resumed.optimizer);
      schedule.load_state_dict(resumed.scheduler);
      kiln::set_rng_state(resumed.rng);
      train.load_state({std::stoll(resumed.data_loader.at("epoch")), std::stoll(resumed.data_loader.at("batch"))});
      start_epoch = resumed.epoch;
      step = resumed.step;
      if (main_rank) std::cout << "resumed from " << a.resume << " at epoch " << start_epoch + 1 << ", step " << step << "\n";
    }
    std::unique_ptr<kiln::metrics::MetricsLogger> log;
    if (!a.log.empty() && main_rank)
      log = std::make_unique<kiln::metrics::MetricsLogger>(a.log, /*append=*/!a.resume.empty());

    const auto t0 = std::chrono::steady_clock::now();
    int64_t samples = 0;
    double comm_seconds = 0, wait_seconds = 0;
    bool stop = false;
    for (int64_t epoch = start_epoch; epoch < a.epochs && !stop; ++epoch) {
      std::unique_ptr<kiln::metrics::ProgressBar> bar;
      if (main_rank)
        bar = std::make_unique<kiln::metrics::ProgressBar>(epoch + 1, a.epochs, steps_per_epoch - train.state().batch);
      for (auto& batch : train) {
        kiln::Tensor loss = kiln::cross_entropy(model(batch.data), batch.target);
        opt->zero_grad();
        loss.backward();  // the gradients are averaged over the ranks when it returns
        opt->step();
        schedule.step();
        const kiln::dist::SyncTiming timing = ddp.last_timing();
        comm_seconds += timing.comm_seconds;
        wait_seconds += timing.wait_seconds;
        // Every rank's batch has the same size, so the mean of the ranks'
        // mean losses is the global batch's mean loss.
        const double l = kiln::dist::all_reduce_mean(loss.item<double>());
        const int64_t global = batch.size() * world;
        if (bar) bar->update(l, global);
        if (log) log->log_step(step, epoch, l, schedule.get_last_lr()[0], bar->samples_per_sec());
        samples += global;
        ++step;
        if (a.max_steps > 0 && step >= a.max_steps) {
          stop = true;
          break;
        }
      }
      if (bar) bar->finish();
      // Per-rank BatchNorm keeps per-rank running statistics: use rank 0's.
      if (world > 1 && !sync_bn) ddp.broadcast_buffers();
      if (!stop) evaluate(model, test, log.get(), epoch);
      if (!a.checkpoint_dir.empty()) {
        // After a whole epoch, or where --max-steps stopped it (resumable mid-epoch).
        kiln::io::TrainingState state;
        state.model = model->state_dict();
        state.optimizer = opt->state_dict();  // collective under ZeRO-1: gathers the shards
        state.scheduler = schedule.state_dict();
        state.step = step;
        state.epoch = stop ? epoch : epoch + 1;
        state.rng = kiln::get_rng_state();
        const auto pos = train.state();
        state.data_loader = {{"epoch", std::to_string(pos.epoch)}, {"batch", std::to_string(pos.batch)}};
        kiln::dist::record_world_size(state);
        const std::string path = a.checkpoint_dir + "/last.safetensors";
        kiln::dist::run_on_main(
            [&] {
              std::filesystem::create_directories(a.checkpoint_dir);
              kiln::io::save_checkpoint(path, state);
              std::cout << "checkpoint: " << path << "\n";
            },
            "saving " + path);
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    if (main_rank) std::cout << "\nfinal evaluation on the 10,000 test images\n";
    evaluate(model, test, nullptr, -1);
    if (main_rank) {
      std::cout << std::setprecision(1) << "trained " << samples << " samples in " << seconds << " s ("
                << samples / std::max(seconds, 1e-9) << " samples/s, including evaluation)\n";
      if (world > 1)
        std::cout << std::setprecision(2) << "gradient all-reduce on rank 0: " << comm_seconds << " s in collectives, "
                  << wait_seconds << " s of it waited for after backward\n";
    }
    if (!a.save_weights.empty())
      kiln::dist::run_on_main([&] { kiln::io::save_safetensors(a.save_weights, model->state_dict()); },
                              "saving " + a.save_weights);
    if (!a.compare_with.empty() && main_rank) {
      const WeightDifference d = weight_difference(*model, a.compare_with);
      std::cout << std::scientific << std::setprecision(3) << "max |w - w(" << a.compare_with << ")| = " << d.max_abs
                << " (in " << d.where << "); relative to each tensor's largest value: " << d.max_rel << "\n";
    }
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
