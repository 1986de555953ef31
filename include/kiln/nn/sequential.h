// nn::Sequential: children applied in order, named "0", "1", ... or as given
// to push_back("name", m). Any module with `Tensor forward(const Tensor&)`
// can be added.
//   nn::Sequential seq(nn::Conv2d(1, 32, 3), nn::ReLU(), nn::Flatten());
//   seq->push_back("fc", nn::Linear(32 * 26 * 26, 10));
//   nn::Sequential named({{"conv", nn::Conv2d(1, 8, 3)}, {"relu", nn::ReLU()}});
#pragma once
#include <functional>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "kiln/nn/module.h"

namespace kiln::nn {

namespace detail {
template <class M> struct is_module_handle : std::false_type {};
template <class M> struct is_module_handle<ModuleHolder<M>> : std::is_base_of<Module, M> {};
template <class M> struct is_module_handle<std::shared_ptr<M>> : std::is_base_of<Module, M> {};
}  // namespace detail

// One {"name", module} of Sequential({{"conv", nn::Conv2d(...)}, {"relu",
// nn::ReLU()}}), as LibTorch's NamedAnyModule: the module with its name and
// its forward, bound to the module's type.
class NamedAnyModule {
 public:
  template <class M>
  NamedAnyModule(std::string name, ModuleHolder<M> holder)  // NOLINT: implicit, built from braces
      : NamedAnyModule(std::move(name), holder.ptr()) {}
  template <class M>
  NamedAnyModule(std::string name, std::shared_ptr<M> module)  // NOLINT: implicit, built from braces
      : name_(std::move(name)), module_(std::move(module)) {
    static_assert(std::is_base_of_v<Module, M>, "NamedAnyModule: M must derive from nn::Module");
    forward_ = [](Module& m, const Tensor& x) { return static_cast<M&>(m).forward(x); };
  }
  const std::string& name() const { return name_; }
  const std::shared_ptr<Module>& module() const { return module_; }

 private:
  friend class SequentialImpl;
  std::string name_;
  std::shared_ptr<Module> module_;
  Tensor (*forward_)(Module&, const Tensor&) = nullptr;
};

class SequentialImpl : public Module {
 public:
  using NamedItem = NamedAnyModule;  // ModuleHolder's braced-list constructor builds from these

  SequentialImpl() : Module("Sequential") {}
  // Sequential({{"conv", nn::Conv2d(1, 8, 3)}, {"relu", nn::ReLU()}}): named children in order.
  SequentialImpl(std::initializer_list<NamedAnyModule> named_modules) : Module("Sequential") {
    for (const NamedAnyModule& m : named_modules) push_back(m);
  }
  template <class... Ms,
            class = std::enable_if_t<(sizeof...(Ms) > 0) && (detail::is_module_handle<std::decay_t<Ms>>::value && ...)>>
  explicit SequentialImpl(Ms&&... modules) : Module("Sequential") {
    (push_back(std::forward<Ms>(modules)), ...);
  }

  template <class M>
  void push_back(ModuleHolder<M> holder) {
    push_back(holder.ptr());
  }
  template <class M>
  void push_back(std::shared_ptr<M> module) {
    push_back(std::to_string(steps_.size()), std::move(module));
  }
  template <class M>
  void push_back(const std::string& name, ModuleHolder<M> holder) {
    push_back(name, holder.ptr());
  }
  template <class M>
  void push_back(const std::string& name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "Sequential::push_back: M must derive from nn::Module");
    push_back(NamedAnyModule(name, std::move(module)));
  }
  // The forward is bound to the type, not the object, so a clone (same
  // dynamic type) reuses it.
  void push_back(const NamedAnyModule& m) {
    register_module(m.name_, m.module_);
    steps_.push_back({m.module_, m.forward_});
  }
  // Appends every module of another Sequential.
  void extend(const SequentialImpl& other);

  Tensor forward(const Tensor& x);
  size_t size() const { return steps_.size(); }
  bool is_empty() const { return steps_.empty(); }
  // The i-th module (throws IndexError when out of range).
  std::shared_ptr<Module> operator[](size_t i) const;
  std::shared_ptr<Module> ptr(size_t i) const { return (*this)[i]; }
  // The i-th module as a T (ValueError when it is another type), as LibTorch's at<T>.
  template <class T>
  T& at(size_t i) const {
    return *ptr<T>(i);
  }
  template <class T>
  std::shared_ptr<T> ptr(size_t i) const {
    auto m = std::dynamic_pointer_cast<T>((*this)[i]);
    KILN_CHECK(m != nullptr, ValueError, "Sequential::at: module ", i, " is a ", (*this)[i]->name(),
               ", not the requested type");
    return m;
  }
  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override;

 private:
  struct Step {
    std::shared_ptr<Module> module;
    Tensor (*forward)(Module&, const Tensor&);
  };
  std::vector<Step> steps_;
};
using Sequential = ModuleHolder<SequentialImpl>;

}  // namespace kiln::nn
