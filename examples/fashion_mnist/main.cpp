// Trains a small CNN on Fashion-MNIST and reports what a person needs to
// trust it: test accuracy, macro F1, calibration error and the confusion
// matrix. Resumable from a checkpoint. See README.md beside this file.
#include <CLI/CLI.hpp>
#include <kiln/kiln.h>

#include <chrono>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>

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
};

std::unique_ptr<kiln::optim::Optimizer> make_optimizer(const Args& a, const std::vector<kiln::Tensor>& params) {
  using namespace kiln::optim;
  if (a.optimizer == "sgd") return std::make_unique<SGD>(params, SGDOptions(a.lr).momentum(0.9).nesterov(true).weight_decay(5e-4));
  if (a.optimizer == "adam") return std::make_unique<Adam>(params, AdamOptions(a.lr));
  if (a.optimizer == "adamw") return std::make_unique<AdamW>(params, AdamWOptions(a.lr));
  throw kiln::ValueError("--optimizer must be sgd, adam or adamw, got '" + a.optimizer + "'");
}

// Test-set evaluation: accuracy, macro F1, ECE and the confusion matrix.
void evaluate(kiln::nn::Sequential& model, kiln::data::DataLoader& test, kiln::metrics::MetricsLogger* log,
              int64_t epoch) {
  kiln::NoGradGuard no_grad;
  model->eval();
  kiln::metrics::ConfusionMatrix cm(10, kClassNames);
  kiln::metrics::CalibrationError ece(15);
  kiln::metrics::Mean loss;
  for (auto& batch : test) {
    kiln::Tensor logits = model(batch.data);
    loss.update(kiln::cross_entropy(logits, batch.target).item<double>(), batch.size());
    cm.update(logits, batch.target);
    ece.update(kiln::softmax(logits, 1), batch.target);
  }
  model->train();
  std::cout << std::fixed << std::setprecision(4) << "test: loss " << loss.compute() << "  accuracy "
            << cm.accuracy() << "  macro F1 " << cm.macro_f1() << "  ECE " << ece.compute() << "\n";
  if (log) log->log_epoch(epoch, {{"test_loss", loss.compute()}, {"test_accuracy", cm.accuracy()},
                                  {"test_macro_f1", cm.macro_f1()}, {"test_ece", ece.compute()}});
  if (epoch < 0) std::cout << cm;
}

}  // namespace

int main(int argc, char** argv) {
  Args a;
  CLI::App app{"Train a CNN on Fashion-MNIST with kiln"};
  app.add_option("--data", a.data, "directory with the Fashion-MNIST IDX files (.gz or raw)");
  app.add_option("--device", a.device, "cpu or cuda[:N] (default: cuda if available, else cpu)");
  app.add_option("--epochs", a.epochs, "training epochs")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", a.batch_size, "examples per step")->check(CLI::PositiveNumber);
  app.add_option("--lr", a.lr, "peak learning rate (cosine schedule with warmup)")->check(CLI::PositiveNumber);
  app.add_option("--optimizer", a.optimizer, "sgd, adam or adamw")->check(CLI::IsMember({"sgd", "adam", "adamw"}));
  app.add_option("--seed", a.seed, "seed for initialisation and shuffling");
  app.add_option("--checkpoint-dir", a.checkpoint_dir, "save a checkpoint after every epoch here");
  app.add_option("--resume", a.resume, "checkpoint file to resume from");
  app.add_option("--log", a.log, "CSV or JSONL file for per-step losses and per-epoch metrics");
  app.add_option("--workers", a.workers, "data loader threads");
  CLI11_PARSE(app, argc, argv);

  try {
    const kiln::Device device = a.device.empty() ? (kiln::cuda::is_available() ? kiln::Device("cuda:0") : kiln::Device("cpu"))
                                                 : kiln::Device(a.device);
    std::cout << "kiln fashion_mnist: device " << device << ", " << a.epochs << " epochs, batch " << a.batch_size
              << ", " << a.optimizer << " lr " << a.lr << "\n";
    kiln::manual_seed(a.seed);

    using kiln::data::FashionMNIST;
    auto train_set = std::make_shared<FashionMNIST>(a.data, kiln::data::Split::Train);
    auto test_set = std::make_shared<FashionMNIST>(a.data, kiln::data::Split::Test);
    kiln::data::DataLoader train(train_set, kiln::data::DataLoaderOptions().batch_size(a.batch_size).shuffle(true)
                                                .seed(a.seed).drop_last(true).num_workers(a.workers)
                                                .pin_memory(device.is_cuda()).device(device));
    kiln::data::DataLoader test(test_set, kiln::data::DataLoaderOptions().batch_size(1000).num_workers(a.workers)
                                              .pin_memory(device.is_cuda()).device(device));

    auto model = fashion_mnist::make_cnn();
    model->to(device);
    auto opt = make_optimizer(a, model->parameters());
    const int64_t steps_per_epoch = train.size();
    kiln::optim::CosineAnnealingLR schedule(*opt, steps_per_epoch * a.epochs, 0.0, steps_per_epoch / 2);

    int64_t start_epoch = 0, step = 0;
    if (!a.resume.empty()) {
      auto state = kiln::io::load_checkpoint(a.resume, device, model->state_dict());
      model->load_state_dict(state.model);
      opt->load_state_dict(state.optimizer);
      schedule.load_state_dict(state.scheduler);
      kiln::set_rng_state(state.rng);
      train.load_state({std::stoll(state.data_loader.at("epoch")), std::stoll(state.data_loader.at("batch"))});
      start_epoch = state.epoch;
      step = state.step;
      std::cout << "resumed from " << a.resume << " at epoch " << start_epoch + 1 << ", step " << step << "\n";
    }
    std::unique_ptr<kiln::metrics::MetricsLogger> log;
    if (!a.log.empty()) log = std::make_unique<kiln::metrics::MetricsLogger>(a.log, /*append=*/!a.resume.empty());

    const auto t0 = std::chrono::steady_clock::now();
    int64_t samples = 0;
    for (int64_t epoch = start_epoch; epoch < a.epochs; ++epoch) {
      kiln::metrics::ProgressBar bar(epoch + 1, a.epochs, steps_per_epoch - train.state().batch);
      for (auto& batch : train) {
        kiln::Tensor loss = kiln::cross_entropy(model(batch.data), batch.target);
        opt->zero_grad();
        loss.backward();
        opt->step();
        schedule.step();
        const double l = loss.item<double>();
        bar.update(l, batch.size());
        if (log) log->log_step(step, epoch, l, schedule.get_last_lr()[0], bar.samples_per_sec());
        samples += batch.size();
        ++step;
      }
      bar.finish();
      evaluate(model, test, log.get(), epoch);
      if (!a.checkpoint_dir.empty()) {
        std::filesystem::create_directories(a.checkpoint_dir);
        kiln::io::TrainingState state;
        state.model = model->state_dict();
        state.optimizer = opt->state_dict();
        state.scheduler = schedule.state_dict();
        state.step = step;
        state.epoch = epoch + 1;
        state.rng = kiln::get_rng_state();
        const auto pos = train.state();
        state.data_loader = {{"epoch", std::to_string(pos.epoch)}, {"batch", std::to_string(pos.batch)}};
        const std::string path = a.checkpoint_dir + "/last.safetensors";
        kiln::io::save_checkpoint(path, state);
        std::cout << "checkpoint: " << path << "\n";
      }
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::cout << "\nfinal evaluation on the 10,000 test images\n";
    evaluate(model, test, nullptr, -1);
    std::cout << std::setprecision(1) << "trained " << samples << " samples in " << seconds << " s ("
              << samples / std::max(seconds, 1e-9) << " samples/s, including evaluation)\n";
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
