// nn::Sequential: children "0", "1", ... applied in order. Any module with
// `Tensor forward(const Tensor&)` can be added.
//   nn::Sequential seq(nn::Conv2d(1, 32, 3), nn::ReLU(), nn::Flatten());
#pragma once
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/nn/module.h"

namespace kiln::nn {

class SequentialImpl : public Module {
  template <class M> struct is_module_handle : std::false_type {};
  template <class M> struct is_module_handle<ModuleHolder<M>> : std::is_base_of<Module, M> {};
  template <class M> struct is_module_handle<std::shared_ptr<M>> : std::is_base_of<Module, M> {};

 public:
  SequentialImpl() : Module("Sequential") {}
  template <class... Ms, class = std::enable_if_t<(sizeof...(Ms) > 0) && (is_module_handle<std::decay_t<Ms>>::value && ...)>>
  explicit SequentialImpl(Ms&&... modules) : Module("Sequential") {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  template <class M>
  void push_back(ModuleHolder<M> holder) {
    push_back(holder.ptr());
  }
  template <class M>
  void push_back(std::shared_ptr<M> module) {
    const std::string name = std::to_string(steps_.size());
    register_module(name, module);
    steps_.push_back({module, [m = module.get()](const Tensor& x) { return m->forward(x); }});
  }

  Tensor forward(const Tensor& x);
  size_t size() const { return steps_.size(); }
  bool is_empty() const { return steps_.empty(); }
  // The i-th module (throws IndexError when out of range).
  std::shared_ptr<Module> operator[](size_t i) const;
  template <class M>
  std::shared_ptr<M> at(size_t i) const {
    auto m = std::dynamic_pointer_cast<M>((*this)[i]);
    KILN_CHECK(m != nullptr, ValueError, "Sequential::at: module ", i, " is a ", (*this)[i]->name(),
               ", not the requested type");
    return m;
  }

 private:
  struct Step {
    std::shared_ptr<Module> module;
    std::function<Tensor(const Tensor&)> forward;
  };
  std::vector<Step> steps_;
};
using Sequential = ModuleHolder<SequentialImpl>;

}  // namespace kiln::nn
