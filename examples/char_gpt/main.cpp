// Trains a byte-level GPT on plain text (by default the English fortunes of
// Debian's fortunes package), reports the validation loss in nats per byte
// as it goes, and samples text from the model at the end. Resumable from a
// checkpoint; guarded by train::HealthGuard. See README.md beside this file.
#include <CLI/CLI.hpp>
#include <kiln/kiln.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>

#include "model.h"
#include "text_data.h"

namespace {

using Clock = std::chrono::steady_clock;
using D = char_gpt::ModelDefaults;

struct Args {
  std::string data = char_gpt::kDefaultData;
  std::string device;
  // 2800 steps of 16 x 64 bytes: see "Measured" in examples/char_gpt/README.md
  // (validation loss and wall time for seeds 0 and 1 on 2 cores).
  int64_t steps = 2800;
  int64_t batch_size = D::kBatch;
  int64_t context = D::kContext;
  int64_t layers = D::kLayers, heads = D::kHeads, width = D::kWidth;
  double dropout = 0.0;
  double lr = D::kLr;
  double min_lr_ratio = 0.1;
  int64_t warmup = 100;
  double weight_decay = D::kWeightDecay;
  double clip = 1.0;
  std::string amp = "off";
  int64_t eval_every = 500;
  int64_t eval_windows = 1024;
  std::string checkpoint_dir;
  std::string resume;
  std::string log;
  std::string guard = "skip";
  uint64_t seed = 0;
  int64_t sample_tokens = 400;
  std::string prompt = "\n";
  double temperature = 0.8;
  int64_t top_k = 40;
};

// Mean cross-entropy in nats per byte over non-overlapping windows of the
// validation text: all of them (max_windows <= 0) or max_windows evenly spaced ones.
double evaluate(kiln::nn::GPT& model, const std::string& val, int64_t T, int64_t max_windows,
                const kiln::Device& device, bool amp, kiln::DType amp_dtype) {
  std::vector<int64_t> starts;
  for (int64_t s = 0; s + T + 1 <= static_cast<int64_t>(val.size()); s += T) starts.push_back(s);
  if (max_windows > 0 && static_cast<int64_t>(starts.size()) > max_windows) {
    std::vector<int64_t> picked;
    for (int64_t i = 0; i < max_windows; ++i)
      picked.push_back(starts[static_cast<size_t>(i * static_cast<int64_t>(starts.size()) / max_windows)]);
    starts.swap(picked);
  }
  kiln::NoGradGuard no_grad;
  kiln::amp::AutocastGuard autocast(amp_dtype, /*enabled=*/amp);  // as the training forward runs
  const bool was_training = model->is_training();
  model->eval();
  double total = 0;
  const int64_t batch = 64;
  for (size_t i = 0; i < starts.size(); i += batch) {
    std::vector<int64_t> part(starts.begin() + static_cast<std::ptrdiff_t>(i),
                              starts.begin() + static_cast<std::ptrdiff_t>(std::min(starts.size(), i + batch)));
    auto b = char_gpt::windows(val, part, T);
    const int64_t n = b.data.numel();
    kiln::Tensor logits = model(b.data.to(device)).view({n, 256});
    total += kiln::cross_entropy(logits, b.target.to(device).view({n}), -100, 0.0, "sum").item<double>();
  }
  model->train(was_training);
  return total / static_cast<double>(starts.size() * static_cast<size_t>(T));
}

std::string printable(const std::vector<int64_t>& ids) {
  std::string s;
  for (int64_t c : ids) s += static_cast<char>(c);
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  const auto t_start = Clock::now();
  auto elapsed = [&] { return std::chrono::duration<double>(Clock::now() - t_start).count(); };
  Args a;
  CLI::App app{"Train a byte-level GPT on plain text with kiln"};
  app.add_option("--data", a.data, "a text file, or a directory of text files (default: Debian's fortunes)");
  app.add_option("--device", a.device, "cpu or cuda[:N] (default: cuda:0 if there is a GPU, else cpu)");
  app.add_option("--steps", a.steps, "training steps")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", a.batch_size, "sequences per step")->check(CLI::PositiveNumber);
  app.add_option("--context", a.context, "bytes per sequence (the model's block size)")->check(CLI::PositiveNumber);
  app.add_option("--layers", a.layers, "transformer blocks")->check(CLI::NonNegativeNumber);
  app.add_option("--heads", a.heads, "attention heads")->check(CLI::PositiveNumber);
  app.add_option("--width", a.width, "model width (n_embd)")->check(CLI::PositiveNumber);
  app.add_option("--dropout", a.dropout, "dropout on embeddings, attention and residual branches");
  app.add_option("--lr", a.lr, "peak learning rate (linear warmup, then cosine to lr * --min-lr-ratio)")
      ->check(CLI::PositiveNumber);
  app.add_option("--min-lr-ratio", a.min_lr_ratio, "final learning rate as a fraction of --lr");
  app.add_option("--warmup", a.warmup, "warmup steps")->check(CLI::NonNegativeNumber);
  app.add_option("--weight-decay", a.weight_decay, "AdamW weight decay on the matrices (not biases or norms)");
  app.add_option("--clip", a.clip, "clip the global gradient norm to this (0: off)");
  app.add_option("--amp", a.amp,
                 "mixed precision on a GPU: bf16 (autocast), f16 (autocast and a GradScaler) or off. On the CPU "
                 "autocast runs f32, so off (f32) is the faster choice there (docs/mixed_precision.md)")
      ->check(CLI::IsMember({"bf16", "f16", "off"}));
  app.add_option("--eval-every", a.eval_every, "validate every this many steps")->check(CLI::PositiveNumber);
  app.add_option("--eval-windows", a.eval_windows,
                 "validation windows during training (the final validation uses all of them)");
  app.add_option("--checkpoint-dir", a.checkpoint_dir, "save last.safetensors here at every validation");
  app.add_option("--resume", a.resume, "checkpoint file to resume from");
  app.add_option("--log", a.log, "CSV or JSONL file for per-step losses and the validation losses");
  app.add_option("--guard", a.guard, "training health guard: off, skip (bad steps) or rollback")
      ->check(CLI::IsMember({"off", "skip", "rollback"}));
  app.add_option("--seed", a.seed, "seed for initialisation, batches and sampling");
  app.add_option("--sample-tokens", a.sample_tokens, "bytes to generate at the end (0: none)");
  app.add_option("--prompt", a.prompt, "what the sample starts from");
  app.add_option("--temperature", a.temperature, "sampling temperature (0: greedy)");
  app.add_option("--top-k", a.top_k, "sample among the k most likely bytes (0: all)");
  CLI11_PARSE(app, argc, argv);

  try {
    const kiln::Device device(!a.device.empty() ? a.device : kiln::cuda::is_available() ? "cuda:0" : "cpu");
    kiln::manual_seed(a.seed);

    std::vector<std::string> files;
    const std::string text = char_gpt::read_text(a.data, &files);
    const char_gpt::Split split = char_gpt::split_90_10(text);
    auto train_set = std::make_shared<char_gpt::WindowDataset>(split.train, a.context);
    kiln::data::DataLoader train(train_set, kiln::data::DataLoaderOptions()
                                                .batch_size(a.batch_size)
                                                .shuffle(true)
                                                .seed(a.seed)
                                                .drop_last(true)
                                                .pin_memory(device.is_cuda())
                                                .device(device));

    kiln::nn::GPT model(char_gpt::config(a.layers, a.heads, a.width, a.context, a.dropout));
    model->to(device);
    auto opt = char_gpt::make_adamw(model, a.lr, a.weight_decay);
    const bool amp = a.amp != "off";
    const kiln::DType amp_dtype = a.amp == "f16" ? kiln::kFloat16 : kiln::kBFloat16;
    // f16 has too little range for small gradients: a dynamic loss scale.
    // bf16 has f32's range and needs none.
    kiln::amp::GradScaler scaler(kiln::amp::GradScalerOptions().enabled(a.amp == "f16"));
    const int64_t warmup = std::min(a.warmup, a.steps - 1);
    kiln::optim::CosineAnnealingLR schedule(*opt, std::max<int64_t>(a.steps - warmup, 1), a.lr * a.min_lr_ratio,
                                            warmup, /*warmup_start_factor=*/0.01);
    std::cout << "kiln char_gpt: " << text.size() << " bytes from " << files.size() << " file"
              << (files.size() == 1 ? "" : "s") << " (" << a.data << "), " << split.train.size() << " train / "
              << split.val.size() << " validation\n"
              << "model: " << a.layers << " layers, " << a.heads << " heads, width " << a.width << ", context "
              << a.context << ", " << kiln::nn::parameter_count(*model) << " parameters; device " << device
              << ", " << kiln::get_num_threads() << " CPU threads\n"
              << "training: " << a.steps << " steps of " << a.batch_size << " x " << a.context << " bytes, AdamW lr "
              << a.lr << " (warmup " << warmup << ", cosine to " << a.lr * a.min_lr_ratio << "), weight decay "
              << a.weight_decay << ", clip " << a.clip << ", guard " << a.guard << ", amp " << a.amp
              << (a.amp == "f16" ? " (with a GradScaler)" : "") << "\n";
    if (amp && !device.is_cuda())
      std::cout << "note: on the CPU autocast runs f32 (kiln's CPU bf16/f16 matmul is slower than f32, "
                   "docs/mixed_precision.md); --amp off is the faster choice there\n";

    int64_t step = 0;
    if (!a.resume.empty()) {
      const auto state = kiln::io::load_checkpoint(a.resume, device, model->state_dict());
      model->load_state_dict(state.model);
      opt->load_state_dict(state.optimizer);
      schedule.load_state_dict(state.scheduler);
      kiln::set_rng_state(state.rng);
      train.load_state({std::stoll(state.data_loader.at("epoch")), std::stoll(state.data_loader.at("batch"))});
      step = state.step;
      // A run saved without f16 has no scaler state: the scaler starts fresh.
      if (scaler.is_enabled() && state.metadata.count("grad_scaler.scale"))
        scaler.load_state_dict(state.metadata, "grad_scaler.");
      std::cout << "resumed from " << a.resume << " at step " << step << "\n";
    }
    std::unique_ptr<kiln::metrics::MetricsLogger> log;
    if (!a.log.empty()) log = std::make_unique<kiln::metrics::MetricsLogger>(a.log, /*append=*/!a.resume.empty());
    auto save_checkpoint = [&] {
      if (a.checkpoint_dir.empty()) return;
      kiln::io::TrainingState state;
      state.model = model->state_dict();
      state.optimizer = opt->state_dict();
      state.scheduler = schedule.state_dict();
      state.step = step;
      state.epoch = train.state().epoch;
      state.rng = kiln::get_rng_state();
      const auto pos = train.state();
      state.data_loader = {{"epoch", std::to_string(pos.epoch)}, {"batch", std::to_string(pos.batch)}};
      state.metadata = {{"layers", std::to_string(a.layers)}, {"heads", std::to_string(a.heads)},
                        {"width", std::to_string(a.width)}, {"context", std::to_string(a.context)}};
      for (const auto& [k, v] : scaler.state_dict("grad_scaler.")) state.metadata[k] = v;
      std::filesystem::create_directories(a.checkpoint_dir);
      kiln::io::save_checkpoint(a.checkpoint_dir + "/last.safetensors", state);
    };

    const auto policy = kiln::train::guard_policy_from_string(a.guard);
    const bool guarded = policy != kiln::train::GuardPolicy::Off;
    kiln::train::HealthGuardOptions guard_options;
    guard_options.policy(policy).log(&std::cout);
    if (!a.checkpoint_dir.empty()) {
      std::filesystem::create_directories(a.checkpoint_dir);
      guard_options.checkpoint_path(a.checkpoint_dir + "/guard_good.safetensors");
    }
    kiln::train::HealthGuard guard({model.ptr().get(), opt.get(), &schedule, &train}, guard_options);

    kiln::metrics::ProgressOptions bar_options;
    bar_options.label = "train";
    bar_options.unit = "tokens";
    const int64_t rounds = (a.steps + a.eval_every - 1) / a.eval_every;
    std::unique_ptr<kiln::metrics::ProgressBar> bar;
    auto new_bar = [&] {
      const int64_t round = step / a.eval_every;
      const int64_t left = std::min(a.steps, (round + 1) * a.eval_every) - step;
      bar = std::make_unique<kiln::metrics::ProgressBar>(round + 1, rounds, left, bar_options);
    };
    new_bar();
    const int64_t tokens_per_step = a.batch_size * a.context;
    double train_seconds = 0, final_val = NAN;
    auto t_train = Clock::now();
    bool stop = false;
    while (step < a.steps && !stop) {
      bool rolled_back = false;
      for (auto& batch : train) {
        if (guarded) guard.begin_step(step);
        const int64_t n = batch.data.numel();
        kiln::Tensor loss;
        {
          // --amp: the matmuls and attention of the forward in bf16/f16 on a
          // GPU, the loss in f32; backward runs in the dtypes the forward saved.
          kiln::amp::AutocastGuard autocast(amp_dtype, /*enabled=*/amp);
          loss = kiln::cross_entropy(model(batch.data).view({n, 256}), batch.target.view({n}));
          opt->zero_grad();
          (scaler.is_enabled() ? scaler.scale(loss) : loss).backward();
        }
        // f16: the gradients back to their true size (and inf/nan noted)
        // before the guard measures them and before clipping.
        if (scaler.is_enabled()) scaler.unscale_(*opt);
        double l = 0;
        if (guarded) {
          const kiln::train::StepHealth h = guard.measure(loss);
          l = h.loss;
          if (scaler.is_enabled() && h.nonfinite > 0 && std::isfinite(h.loss)) {
            // An f16 gradient overflowed at this loss scale: the scaler's
            // business (it skips the step and halves the scale), not a sick
            // run, so the guard's trouble count does not see it.
            scaler.step(*opt);
            scaler.update();
          } else {
            const kiln::train::Action action = guard.decide(h);
            if (action == kiln::train::Action::Rollback) {
              if (scaler.is_enabled()) scaler.update();
              step = guard.resume_step();
              rolled_back = true;
              break;
            }
            if (action == kiln::train::Action::Stop) {
              std::cerr << guard.report();
              stop = true;
              break;
            }
            if (action == kiln::train::Action::Proceed) {
              // The guard has measured the global norm already: scale the
              // gradients by hand rather than have clip_grad_norm_ measure again.
              if (a.clip > 0 && h.grad_norm > a.clip) {
                kiln::NoGradGuard no_grad;
                for (auto& p : model->parameters())
                  if (p.grad().defined()) p.grad().mul_(a.clip / h.grad_norm);
              }
              if (scaler.is_enabled())
                scaler.step(*opt);
              else
                opt->step();
            }
            if (scaler.is_enabled()) scaler.update();
          }
        } else {
          if (a.clip > 0) kiln::nn::utils::clip_grad_norm_(model->parameters(), a.clip);
          if (scaler.is_enabled()) {
            scaler.step(*opt);
            scaler.update();
          } else {
            opt->step();
          }
          l = loss.item<double>();
        }
        schedule.step();
        ++step;
        bar->update(l, tokens_per_step);
        if (log) log->log_step(step, train.state().epoch, l, schedule.get_last_lr()[0], bar->samples_per_sec());
        if (step % a.eval_every == 0 || step == a.steps) {
          // The bar's line first, so its tokens/s and time are the training's alone.
          bar->finish();
          const double round_seconds = bar->elapsed_seconds();
          train_seconds += std::chrono::duration<double>(Clock::now() - t_train).count();
          const bool last = step == a.steps;
          const auto t_eval = Clock::now();
          const double val = evaluate(model, split.val, a.context, last ? 0 : a.eval_windows, device, amp, amp_dtype);
          const double eval_seconds = std::chrono::duration<double>(Clock::now() - t_eval).count();
          final_val = val;
          std::cout << "step " << step << " val_loss " << std::fixed << std::setprecision(4) << val << " nats/byte ("
                    << (last ? "all" : std::to_string(a.eval_windows)) << " windows, " << std::setprecision(1)
                    << eval_seconds << " s) elapsed " << elapsed() << " s\n" << std::flush;
          if (log) log->log_epoch(step / a.eval_every, {{"step", double(step)}, {"val_loss", val},
                                                       {"elapsed_s", elapsed()}, {"round_s", round_seconds}});
          save_checkpoint();
          if (last) break;
          new_bar();
          t_train = Clock::now();
        }
        if (step >= a.steps) break;
      }
      if (rolled_back) {
        bar->finish({{"rolled_back_to_step", double(step)}});
        new_bar();
      }
    }
    const double wall = elapsed();
    std::cout << std::fixed << std::setprecision(4) << "final validation loss " << final_val
              << " nats/byte over all " << split.val.size() / a.context << " windows ("
              << std::setprecision(1) << wall << " s from start to the final validation; " << std::setprecision(0)
              << static_cast<double>(step * tokens_per_step) / std::max(train_seconds, 1e-9)
              << " training tokens/s)\n";
    if (a.sample_tokens > 0) {
      std::vector<int64_t> prompt(a.prompt.begin(), a.prompt.end());
      for (auto& c : prompt) c = static_cast<unsigned char>(c);
      if (prompt.empty()) prompt.push_back('\n');
      const auto t0 = Clock::now();
      kiln::Tensor out = model->generate(kiln::tensor(prompt, {static_cast<int64_t>(prompt.size())}).to(device),
                                         a.sample_tokens, {a.temperature, a.top_k, 1.0, a.seed});
      const double gen_s = std::chrono::duration<double>(Clock::now() - t0).count();
      std::cout << "--- sample (temperature " << std::setprecision(2) << a.temperature << ", top-k " << a.top_k
                << ", " << a.sample_tokens << " bytes in " << std::setprecision(2) << gen_s << " s) ---\n"
                << printable(out.cpu().to_vector<int64_t>()) << "\n---\n";
    }
    if (guarded && !guard.events().empty()) std::cout << "guard: " << guard.events().size() << " events\n";
    if (scaler.is_enabled())
      std::cout << "grad scaler: scale " << std::setprecision(0) << scaler.get_scale() << ", "
                << scaler.skipped_steps() << " steps skipped for inf/nan gradients\n";
    return stop ? 3 : 0;
  } catch (const kiln::Error& e) {
    std::cerr << "error: " << e.what() << "\n";
    return 1;
  }
}
