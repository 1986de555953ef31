// Training checkpoints: load one, resume a small run from it (model,
// optimizer, scheduler, RNG and data position, as the example trainers do),
// take one training step, and save and load the result. Restored counters
// feed arithmetic here, so an unchecked one shows as a UBSan report.
#include <kiln/data/data.h>
#include <kiln/io/io.h>
#include <kiln/kiln.h>
#include <kiln/optim/optim.h>

#include <memory>

#include "harness.h"
#include "core/number_format.h"

namespace kiln::fuzz {

namespace {

std::string value_or(const io::Metadata& m, const char* key, const char* fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

// The optimizer the checkpoint names (Adam when it names none we build).
std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, const std::vector<Tensor>& params) {
  if (name == "SGD") return std::make_unique<optim::SGD>(params, optim::SGDOptions(0.1).momentum(0.9));
  if (name == "AdamW") return std::make_unique<optim::AdamW>(params, optim::AdamWOptions(0.01));
  return std::make_unique<optim::Adam>(params, optim::AdamOptions(0.01).amsgrad(true));
}

std::unique_ptr<optim::LRScheduler> make_scheduler(const std::string& name, optim::Optimizer& opt) {
  if (name == "CosineAnnealingLR") return std::make_unique<optim::CosineAnnealingLR>(opt, 10, 0.0, 2);
  if (name == "ExponentialLR") return std::make_unique<optim::ExponentialLR>(opt, 0.9);
  if (name == "OneCycleLR") return std::make_unique<optim::OneCycleLR>(opt, 0.1, 10);
  return std::make_unique<optim::StepLR>(opt, 2);
}

}  // namespace

Outcome run_checkpoint(const uint8_t* data, size_t size) {
  const std::string path = write_scratch("input.ckpt", data, size);
  return accepts([&] {
    Tensor w = zeros({3, 2}).requires_grad_(), b = zeros({3}).requires_grad_();
    const StateDict model = {{"w", w}, {"b", b}};
    io::TrainingState s = io::load_checkpoint(path, Device(kCPU), model);
    io::load_state_dict_checked(model, s.model);
    auto opt = make_optimizer(value_or(s.optimizer.metadata, "optimizer", ""), {w, b});
    opt->load_state_dict(s.optimizer);
    auto sched = make_scheduler(value_or(s.scheduler, "scheduler", ""), *opt);
    sched->load_state_dict(s.scheduler);
    set_rng_state(s.rng);

    kiln::manual_seed(1);
    auto dataset = std::make_shared<data::TensorDataset>(randn({8, 2}), randn({8, 3}));
    data::DataLoader loader(dataset, data::DataLoaderOptions().batch_size(2).shuffle(true));
    set_rng_state(s.rng);
    // Parsed as plain integers: the loader itself must refuse a bad position.
    if (s.data_loader.count("epoch") && s.data_loader.count("batch"))
      loader.load_state({kiln::detail::parse_int(s.data_loader.at("epoch"), "data.epoch"),
                         kiln::detail::parse_int(s.data_loader.at("batch"), "data.batch")});
    auto it = loader.begin();
    if (it == loader.end()) it = loader.begin();  // the saved position was an epoch's end
    const data::Batch& batch = *it;
    opt->zero_grad();
    Tensor diff = batch.data.matmul(w.t()) + b - batch.target;
    (diff * diff).mean().backward();
    opt->step();
    sched->step();

    // What resumed must save and load again.
    io::TrainingState next;
    next.model = model;
    next.optimizer = opt->state_dict();
    next.scheduler = sched->state_dict();
    next.rng = get_rng_state();
    next.step = s.step;
    next.epoch = s.epoch;
    const std::string again = scratch_dir() + "/again.ckpt";
    io::save_checkpoint(again, next);
    try {
      io::load_checkpoint(again, Device(kCPU), model);
    } catch (const kiln::Error& e) {
      property_failed("checkpoint", std::string("a checkpoint saved after resuming does not load: ") + e.what());
    }
  });
}

}  // namespace kiln::fuzz
