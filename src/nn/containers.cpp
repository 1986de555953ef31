// ModuleList, ModuleDict and Functional.
#include "kiln/nn/functional_module.h"
#include "kiln/nn/module_dict.h"
#include "kiln/nn/module_list.h"

namespace kiln::nn {

// --- ModuleList ------------------------------------------------------------------

void ModuleListImpl::push_back(std::shared_ptr<Module> module) {
  KILN_CHECK(module != nullptr, ValueError, "ModuleList::push_back: the module is empty");
  register_module(std::to_string(modules_.size()), module);
  modules_.push_back(std::move(module));
}

void ModuleListImpl::insert(size_t i, std::shared_ptr<Module> module) {
  KILN_CHECK(module != nullptr, ValueError, "ModuleList::insert: the module is empty");
  KILN_CHECK(i <= modules_.size(), IndexError, "ModuleList::insert: index ", i, " is out of range for ",
             modules_.size(), " modules");
  modules_.insert(modules_.begin() + static_cast<std::ptrdiff_t>(i), std::move(module));
  rename_children();
}

void ModuleListImpl::extend(const ModuleListImpl& other) {
  KILN_CHECK(&other != this, ValueError, "ModuleList::extend: cannot extend a ModuleList with itself");
  for (const auto& m : other.modules_) push_back(m);
}

// Children are named by position, so an insertion renames those after it.
void ModuleListImpl::rename_children() {
  for (const auto& item : named_children()) unregister_module(item.key());
  for (size_t i = 0; i < modules_.size(); ++i) register_module(std::to_string(i), modules_[i]);
}

std::shared_ptr<Module> ModuleListImpl::operator[](size_t i) const {
  KILN_CHECK(i < modules_.size(), IndexError, "ModuleList: index ", i, " is out of range for ", modules_.size(),
             " modules");
  return modules_[i];
}

std::shared_ptr<Module> ModuleListImpl::clone(const std::optional<Device>& device) const {
  auto copy = std::make_shared<ModuleListImpl>();
  for (const auto& m : modules_) copy->push_back(m->clone(device));
  if (!is_training()) copy->eval();
  return copy;
}

// --- ModuleDict ------------------------------------------------------------------

ModuleDictImpl::ModuleDictImpl(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules)
    : ModuleDictImpl() {
  update(modules);
}

void ModuleDictImpl::insert(const std::string& key, std::shared_ptr<Module> module) {
  KILN_CHECK(module != nullptr, ValueError, "ModuleDict::insert: the module for '", key, "' is empty");
  if (modules_.contains(key)) {
    replace_module(key, module);
    modules_[key] = std::move(module);
    return;
  }
  register_module(key, module);
  modules_.insert(key, std::move(module));
}

void ModuleDictImpl::update(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& modules) {
  for (const auto& [key, m] : modules) insert(key, m);
}

std::shared_ptr<Module> ModuleDictImpl::pop(const std::string& key) {
  std::shared_ptr<Module> m = modules_.pop(key);
  unregister_module(key);
  return m;
}

void ModuleDictImpl::clear() {
  for (const auto& key : modules_.keys()) unregister_module(key);
  modules_.clear();
}

std::shared_ptr<Module> ModuleDictImpl::operator[](const std::string& key) const { return modules_[key]; }

std::shared_ptr<Module> ModuleDictImpl::clone(const std::optional<Device>& device) const {
  auto copy = std::make_shared<ModuleDictImpl>();
  for (const auto& item : modules_) copy->insert(item.key(), item.value()->clone(device));
  if (!is_training()) copy->eval();
  return copy;
}

// --- Functional --------------------------------------------------------------------

FunctionalImpl::FunctionalImpl(Function function) : Cloneable("Functional"), function_(std::move(function)) {
  KILN_CHECK(function_ != nullptr, ValueError, "Functional: the function is empty");
}

}  // namespace kiln::nn
