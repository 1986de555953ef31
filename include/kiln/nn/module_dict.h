// nn::ModuleDict: modules by name, in insertion order, registered as
// children under their keys, as LibTorch's ModuleDict.
//   using Named = std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>;
//   nn::ModuleDict heads(Named{{"cls", nn::Linear(64, 10).ptr()}, {"box", nn::Linear(64, 4).ptr()}});
//   Tensor logits = heads["cls"]->as<nn::Linear>()->forward(x);
#pragma once
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/nn/module.h"

namespace kiln::nn {

class ModuleDictImpl : public Module {
 public:
  ModuleDictImpl() : Module("ModuleDict") {}
  explicit ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules);

  // Adds or replaces the module under `key`.
  void insert(const std::string& key, std::shared_ptr<Module> module);
  template <class M>
  void insert(const std::string& key, ModuleHolder<M> holder) {
    insert(key, std::shared_ptr<Module>(holder.ptr()));
  }
  void update(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules);
  // Removes and returns the module under `key` (ValueError when absent).
  std::shared_ptr<Module> pop(const std::string& key);
  void clear();

  std::shared_ptr<Module> operator[](const std::string& key) const;
  template <class T>
  T& at(const std::string& key) const {
    auto m = std::dynamic_pointer_cast<T>((*this)[key]);
    KILN_CHECK(m != nullptr, ValueError, "ModuleDict::at: module '", key, "' is a ", (*this)[key]->name(),
               ", not the requested type");
    return *m;
  }
  bool contains(const std::string& key) const { return modules_.contains(key); }
  size_t size() const { return modules_.size(); }
  bool empty() const { return modules_.empty(); }
  std::vector<std::string> keys() const { return modules_.keys(); }
  std::vector<std::shared_ptr<Module>> values() const { return modules_.values(); }
  const std::vector<NamedModules::Item>& items() const { return modules_.items(); }
  NamedModules::const_iterator begin() const { return modules_.begin(); }
  NamedModules::const_iterator end() const { return modules_.end(); }

  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;

 private:
  NamedModules modules_{"ModuleDict key"};
};
using ModuleDict = ModuleHolder<ModuleDictImpl>;

}  // namespace kiln::nn
