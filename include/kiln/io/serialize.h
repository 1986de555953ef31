// kiln::save / kiln::load with LibTorch's shapes of call, writing safetensors
// (so the files stay readable by Python's safetensors and Hugging Face tools):
//
//   kiln::save(model, "model.safetensors");      kiln::load(model, "model.safetensors");
//   kiln::save(optimizer, "optim.safetensors");  kiln::load(optimizer, "optim.safetensors");
//   kiln::save(x, "x.safetensors");              kiln::load(x, "x.safetensors");
//   kiln::save(std::vector<Tensor>{a, b}, p);    std::vector<Tensor> v; kiln::load(v, p);
//
// What each file holds (metadata "kiln.kind" says which):
//   module     the state_dict (parameters and buffers by dotted name)
//   optimizer  the optimizer's state_dict: tensors "state.<i>.<name>",
//              its string metadata under "optim.<key>"
//   tensor     one tensor named "tensor"
//   tensors    tensors named "0", "1", ... in order
// Saving is atomic (io::save_safetensors). A module loads from any safetensors
// file of matching names and shapes (one written by PyTorch, say); the other
// kinds also read files without "kiln.kind" when their layout fits.
//
// Differences from LibTorch: the files are safetensors, not TorchScript
// archives, so a module's structure is not saved (only its tensors: load into
// a module built the same way); torch::load(module, path, device) moves the
// whole module to `device`, kiln::load(module, path, device) only reads the
// file's tensors onto `device` before copying them into the module where it
// is. io:: (kiln/io/safetensors.h, kiln/io/checkpoint.h) stays for finer control.
#pragma once
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/tensor.h"
#include "kiln/nn/module.h"
#include "kiln/optim/optimizer.h"

namespace kiln {

void save(const nn::Module& module, const std::string& path);
void save(const optim::Optimizer& optimizer, const std::string& path);
void save(const Tensor& tensor, const std::string& path);
void save(const std::vector<Tensor>& tensors, const std::string& path);
// Holders and shared pointers, as LibTorch programs pass them.
template <class M, class = std::enable_if_t<std::is_base_of_v<nn::Module, M>>>
void save(const std::shared_ptr<M>& module, const std::string& path) {
  save(static_cast<const nn::Module&>(*module), path);
}
template <class M>
void save(const nn::ModuleHolder<M>& module, const std::string& path) {
  save(static_cast<const nn::Module&>(*module), path);
}

// Copies the file's tensors into the module's parameters and buffers
// (Module::load_state_dict, strict: missing, unexpected or wrongly shaped
// names are one ValueError, and nothing is copied).
void load(nn::Module& module, const std::string& path, Device device = Device(kCPU));
// Restores the optimizer's state (Optimizer::load_state_dict).
void load(optim::Optimizer& optimizer, const std::string& path);
// Replaces `tensor` with the file's tensor, on `device`.
void load(Tensor& tensor, const std::string& path, Device device = Device(kCPU));
// Replaces `tensors` with the file's tensors, in order, on `device`.
void load(std::vector<Tensor>& tensors, const std::string& path, Device device = Device(kCPU));
template <class M, class = std::enable_if_t<std::is_base_of_v<nn::Module, M>>>
void load(const std::shared_ptr<M>& module, const std::string& path, Device device = Device(kCPU)) {
  load(static_cast<nn::Module&>(*module), path, device);
}
template <class M>
void load(const nn::ModuleHolder<M>& module, const std::string& path, Device device = Device(kCPU)) {
  load(static_cast<nn::Module&>(*module), path, device);
}

}  // namespace kiln
