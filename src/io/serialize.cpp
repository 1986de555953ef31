// kiln::save / kiln::load (kiln/io/serialize.h): LibTorch's calls, written
// as safetensors through io::save_safetensors / io::load_safetensors.
#include "kiln/io/serialize.h"

#include <algorithm>
#include <cctype>

#include "core/number_format.h"
#include "kiln/io/safetensors.h"

namespace kiln {
namespace {

constexpr const char* kKindKey = "kiln.kind";
constexpr const char* kOptimPrefix = "optim.";

// IOError when the file says it holds another kind than `want` (a file that
// says nothing, as other tools write them, passes).
void check_kind(const io::SafetensorsContents& file, const std::string& want, const std::string& path) {
  auto it = file.metadata.find(kKindKey);
  if (it == file.metadata.end()) return;
  KILN_CHECK(it->second == want, IOError, "kiln::load: ", path, " holds a saved ", it->second, ", not a ", want,
             " (it was written by kiln::save of a ", it->second, ")");
}

bool is_index(const std::string& s) {
  return !s.empty() && s.size() < 19 &&
         std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; });
}

}  // namespace

void save(const nn::Module& module, const std::string& path) {
  io::save_safetensors(path, module.state_dict(), {{kKindKey, "module"}});
}

void save(const optim::Optimizer& optimizer, const std::string& path) {
  const optim::OptimizerState state = optimizer.state_dict();
  io::Metadata meta = {{kKindKey, "optimizer"}};
  for (const auto& [k, v] : state.metadata) meta[kOptimPrefix + k] = v;
  io::save_safetensors(path, state.tensors, meta);
}

void save(const Tensor& tensor, const std::string& path) {
  KILN_CHECK(tensor.defined(), ValueError, "kiln::save: the tensor to save to ", path, " is undefined");
  io::save_safetensors(path, {{"tensor", tensor}}, {{kKindKey, "tensor"}});
}

void save(const std::vector<Tensor>& tensors, const std::string& path) {
  StateDict named;
  for (size_t i = 0; i < tensors.size(); ++i) {
    KILN_CHECK(tensors[i].defined(), ValueError, "kiln::save: tensor ", i, " of ", tensors.size(), " to save to ",
               path, " is undefined");
    named[std::to_string(i)] = tensors[i];
  }
  io::save_safetensors(path, named, {{kKindKey, "tensors"}});
}

void load(nn::Module& module, const std::string& path, Device device) {
  io::SafetensorsContents file = io::load_safetensors(path, device);
  check_kind(file, "module", path);
  module.load_state_dict(file.tensors, /*strict=*/true);
}

void load(optim::Optimizer& optimizer, const std::string& path) {
  io::SafetensorsContents file = io::load_safetensors(path);
  check_kind(file, "optimizer", path);
  optim::OptimizerState state;
  state.tensors = std::move(file.tensors);
  const std::string prefix = kOptimPrefix;
  for (const auto& [k, v] : file.metadata)
    if (k.compare(0, prefix.size(), prefix) == 0) state.metadata[k.substr(prefix.size())] = v;
  KILN_CHECK(!state.metadata.empty(), IOError, "kiln::load: ", path,
             " holds no optimizer state (no \"optim.*\" metadata); was it written by kiln::save(optimizer, ...)?");
  optimizer.load_state_dict(state);
}

void load(Tensor& tensor, const std::string& path, Device device) {
  io::SafetensorsContents file = io::load_safetensors(path, device);
  check_kind(file, "tensor", path);
  KILN_CHECK(file.tensors.size() == 1, IOError, "kiln::load: ", path, " holds ", file.tensors.size(),
             " tensors; loading into one Tensor needs a file of exactly one (kiln::save(tensor, path) writes one)");
  tensor = file.tensors.begin()->second;
}

void load(std::vector<Tensor>& tensors, const std::string& path, Device device) {
  io::SafetensorsContents file = io::load_safetensors(path, device);
  check_kind(file, "tensors", path);
  // Names "0" .. "n-1", in numeric order (the file lists them as strings: "10" < "2").
  std::vector<Tensor> out(file.tensors.size());
  for (auto& [name, t] : file.tensors) {
    KILN_CHECK(is_index(name), IOError, "kiln::load: ", path, " has a tensor named \"", name,
               "\"; a tensor list is saved as \"0\", \"1\", ... (kiln::save(std::vector<Tensor>, path))");
    const int64_t i = kiln::detail::parse_int(name, "tensor index");
    KILN_CHECK(i >= 0 && i < static_cast<int64_t>(out.size()) && !out[static_cast<size_t>(i)].defined(), IOError,
               "kiln::load: ", path, " has tensor \"", name, "\" among ", out.size(),
               " tensors; the names must be 0 .. n-1");
    out[static_cast<size_t>(i)] = std::move(t);
  }
  tensors = std::move(out);
}

}  // namespace kiln
