// nn::ModuleList: modules held in order and registered as children "0",
// "1", ..., without a forward of its own (the owner decides how to call
// them), as LibTorch's ModuleList.
//   nn::ModuleList blocks;
//   for (int i = 0; i < 4; ++i) blocks->push_back(nn::Linear(64, 64));
//   for (const auto& b : *blocks) x = b->as<nn::Linear>()->forward(x);
#pragma once
#include <memory>
#include <vector>

#include "kiln/nn/module.h"

namespace kiln::nn {

class ModuleListImpl : public Module {
 public:
  ModuleListImpl() : Module("ModuleList") {}
  template <class... Ms>
  explicit ModuleListImpl(Ms&&... modules) : Module("ModuleList") {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  template <class M>
  void push_back(ModuleHolder<M> holder) {
    push_back(holder.ptr());
  }
  void push_back(std::shared_ptr<Module> module);
  // Inserts before position i (0 <= i <= size()); later modules are renamed.
  void insert(size_t i, std::shared_ptr<Module> module);
  template <class M>
  void insert(size_t i, ModuleHolder<M> holder) {
    insert(i, std::shared_ptr<Module>(holder.ptr()));
  }
  void extend(const ModuleListImpl& other);

  size_t size() const { return modules_.size(); }
  bool is_empty() const { return modules_.empty(); }
  std::shared_ptr<Module> operator[](size_t i) const;
  std::shared_ptr<Module> ptr(size_t i) const { return (*this)[i]; }
  template <class T>
  std::shared_ptr<T> ptr(size_t i) const {
    auto m = std::dynamic_pointer_cast<T>((*this)[i]);
    KILN_CHECK(m != nullptr, ValueError, "ModuleList::at: module ", i, " is a ", (*this)[i]->name(),
               ", not the requested type");
    return m;
  }
  template <class T>
  T& at(size_t i) const {
    return *ptr<T>(i);
  }
  std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return modules_.begin(); }
  std::vector<std::shared_ptr<Module>>::const_iterator end() const { return modules_.end(); }

  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;

 private:
  void rename_children();
  std::vector<std::shared_ptr<Module>> modules_;
};
using ModuleList = ModuleHolder<ModuleListImpl>;

}  // namespace kiln::nn
