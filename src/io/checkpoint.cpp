// Training checkpoints as one safetensors file: tensors under prefixes,
// scalars as metadata strings.
#include "kiln/io/checkpoint.h"

#include "core/number_format.h"
#include "core/tensor_checks.h"
#include "core/message_text.h"
#include "kiln/core/grad_mode.h"

namespace kiln::io {

namespace {

constexpr const char* kVersionKey = "kiln.checkpoint";
constexpr const char* kVersion = "1";

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

void put_prefixed(Metadata& out, const std::string& prefix, const Metadata& in) {
  for (const auto& [k, v] : in) out[prefix + k] = v;
}

// The entries of `in` under `prefix`, with the prefix removed.
template <class Map>
Map take_prefixed(const Map& in, const std::string& prefix) {
  Map out;
  for (auto it = in.lower_bound(prefix); it != in.end() && starts_with(it->first, prefix); ++it)
    out[it->first.substr(prefix.size())] = it->second;
  return out;
}

}  // namespace

void save_checkpoint(const std::string& path, const TrainingState& state) {
  StateDict tensors;
  for (const auto& [k, t] : state.model) tensors["model." + k] = t;
  for (const auto& [k, t] : state.optimizer.tensors) tensors["optim." + k] = t;
  Metadata meta;
  meta[kVersionKey] = kVersion;
  meta["step"] = std::to_string(state.step);
  meta["epoch"] = std::to_string(state.epoch);
  meta["rng.seed"] = std::to_string(state.rng.seed);
  meta["rng.offset"] = std::to_string(state.rng.offset);
  put_prefixed(meta, "optim.", state.optimizer.metadata);
  put_prefixed(meta, "sched.", state.scheduler);
  put_prefixed(meta, "data.", state.data_loader);
  put_prefixed(meta, "meta.", state.metadata);
  save_safetensors(path, tensors, meta);
}

TrainingState load_checkpoint(const std::string& path, Device device) {
  SafetensorsContents file = load_safetensors(path, device);
  const Metadata& meta = file.metadata;
  auto get = [&](const char* key) -> const std::string& {
    auto it = meta.find(key);
    KILN_CHECK(it != meta.end(), IOError, "load_checkpoint: ", path, ": not a kiln checkpoint (no \"", key,
               "\" in the metadata)");
    return it->second;
  };
  KILN_CHECK(get(kVersionKey) == kVersion, IOError, "load_checkpoint: ", path, ": checkpoint version \"",
             kiln::detail::clip(get(kVersionKey)), "\" is not supported (expected \"", kVersion, "\")");
  TrainingState s;
  try {
    // Counters are range-checked: the training loop increments them.
    s.step = kiln::detail::parse_counter(get("step"), "checkpoint", "step");
    s.epoch = kiln::detail::parse_counter(get("epoch"), "checkpoint", "epoch");
    s.rng.seed = kiln::detail::parse_uint(get("rng.seed"), "rng.seed");
    s.rng.offset = kiln::detail::parse_uint(get("rng.offset"), "rng.offset");
  } catch (const ValueError& e) {
    throw IOError(std::string("load_checkpoint: ") + path + ": " + e.what());
  }
  s.model = take_prefixed(file.tensors, "model.");
  s.optimizer.tensors = take_prefixed(file.tensors, "optim.");
  s.optimizer.metadata = take_prefixed(meta, "optim.");
  s.scheduler = take_prefixed(meta, "sched.");
  s.data_loader = take_prefixed(meta, "data.");
  s.metadata = take_prefixed(meta, "meta.");
  return s;
}

TrainingState load_checkpoint(const std::string& path, Device device, const StateDict& expected_model) {
  TrainingState s = load_checkpoint(path, device);
  std::vector<std::string> problems = state_dict_mismatches(expected_model, s.model);
  if (!problems.empty()) {
    std::string msg = "load_checkpoint: " + path + ": the model state does not match the expected one:";
    for (const auto& p : problems) msg += "\n  " + p;
    throw ValueError(msg);
  }
  return s;
}

std::vector<std::string> state_dict_mismatches(const StateDict& expected, const StateDict& loaded) {
  std::vector<std::string> problems;
  for (const auto& [name, e] : expected) {
    auto it = loaded.find(name);
    if (it == loaded.end()) {
      problems.push_back("missing \"" + name + "\" (expected " + kiln::detail::describe(e) + ")");
      continue;
    }
    const Tensor& l = it->second;
    if (l.sizes() != e.sizes())
      problems.push_back("\"" + name + "\": shape " + shape_str(l.sizes()) + " but expected " + shape_str(e.sizes()));
    if (l.dtype() != e.dtype())
      problems.push_back("\"" + name + "\": dtype " + dtype_name(l.dtype()) + " but expected " + dtype_name(e.dtype()));
  }
  for (const auto& [name, l] : loaded)
    if (!expected.count(name)) problems.push_back("unexpected \"" + name + "\" (" + kiln::detail::describe(l) + ")");
  return problems;
}

void load_state_dict_checked(const StateDict& expected, const StateDict& loaded) {
  std::vector<std::string> problems = state_dict_mismatches(expected, loaded);
  if (!problems.empty()) {
    std::string msg = "load_state_dict: " + std::to_string(problems.size()) + " mismatch(es):";
    for (const auto& p : problems) msg += "\n  " + p;
    throw ValueError(msg);
  }
  NoGradGuard no_grad;
  for (const auto& [name, e] : expected) {
    Tensor dst = e;
    dst.copy_(loaded.at(name));
  }
}

}  // namespace kiln::io
