// nn::Module: the base of every layer and model. A module owns named
// parameters (trainable tensors), named buffers (state that is saved but not
// trained, like BatchNorm running statistics) and named child modules, so a
// model is a tree whose dotted paths ("features.0.weight") name every tensor
// in state_dict() and checkpoints.
//
// Layers come in two halves, as in LibTorch: `LinearImpl` is the Module, and
// `Linear = ModuleHolder<LinearImpl>` is a shared handle to one, so users write
//
//   auto fc = nn::Linear(784, 10);
//   Tensor y = fc(x);            // same as fc->forward(x)
//   nn::Sequential seq(nn::Conv2d(1, 32, 3), nn::ReLU());
//
// A user model derives from Module, registers its parts in the constructor and
// lives in a std::shared_ptr (std::make_shared<Net>()) or a ModuleHolder.
#pragma once
#include <cstddef>
#include <functional>
#include <initializer_list>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "kiln/core/device.h"
#include "kiln/core/dtype.h"
#include "kiln/core/state_dict.h"
#include "kiln/core/tensor.h"
#include "kiln/nn/ordered_dict.h"

namespace kiln::nn {

class Module;
// Ordered by registration; items have .key() and .value() (and .first/.second).
using NamedTensors = OrderedDict<std::string, Tensor>;
using NamedModules = OrderedDict<std::string, std::shared_ptr<Module>>;

// A shared handle to a module of type T (T derives from Module). Copies share
// the module. Constructing a holder with arguments constructs T with them.
template <class T>
class ModuleHolder {
 private:
  template <class... A> struct is_self : std::false_type {};
  template <class A> struct is_self<A> : std::is_same<std::decay_t<A>, ModuleHolder> {};

 public:
  using element_type = T;

  // ModuleHolder<T>(args...) == std::make_shared<T>(args...). Disabled for
  // argument lists T cannot be built from, so copies use the copy constructor.
  template <class... Args,
            class = std::enable_if_t<std::is_constructible_v<T, Args&&...> && !is_self<Args...>::value>>
  explicit ModuleHolder(Args&&... args) : impl_(std::make_shared<T>(std::forward<Args>(args)...)) {}
  ModuleHolder(std::shared_ptr<T> impl) : impl_(std::move(impl)) {}  // NOLINT: implicit like LibTorch
  ModuleHolder(std::nullptr_t) {}  // NOLINT: an empty holder, to be assigned later
  // ModuleHolder<T>({{"name", m}, ...}) for a T built from a braced list of
  // T::NamedItem (Sequential's named form, as LibTorch's), which the
  // variadic constructor cannot take: a braced list deduces no Args. Item is
  // never deduced from the nested braces, so it is T::NamedItem; the check
  // turns the constructor off for a flat list such as {nn::ReLU(), nn::ReLU()}.
  template <class U = T, class Item = typename U::NamedItem,
            class = std::enable_if_t<std::is_same_v<Item, typename U::NamedItem>>>
  ModuleHolder(std::initializer_list<Item> items) : impl_(std::make_shared<T>(items)) {}  // NOLINT: as LibTorch

  T* operator->() const { return get(); }
  explicit operator bool() const { return impl_ != nullptr; }
  T& operator*() const { return *get(); }
  T* get() const {
    KILN_CHECK(impl_ != nullptr, ValueError, "ModuleHolder: accessing an empty holder");
    return impl_.get();
  }
  const std::shared_ptr<T>& ptr() const { return impl_; }
  bool is_empty() const { return impl_ == nullptr; }

  // fc(x) calls fc->forward(x).
  // (U keeps the return type dependent, so holders of modules without a
  // forward, like ModuleList, still instantiate.)
  template <class... Args, class U = T>
  auto operator()(Args&&... args) const -> decltype(std::declval<U&>().forward(std::forward<Args>(args)...)) {
    return get()->forward(std::forward<Args>(args)...);
  }

 private:
  std::shared_ptr<T> impl_;
};

class Module : public std::enable_shared_from_this<Module> {
 public:
  // type_name is what printing shows ("Linear", "Conv2d", ...).
  explicit Module(std::string type_name = "Module");
  virtual ~Module() = default;
  Module& operator=(const Module&) = delete;

  const std::string& name() const { return type_name_; }

  // A deep copy: new parameters and buffers holding copies of these values
  // (moved to `device` if given), in the same mode. Modules deriving from
  // nn::Cloneable<Derived> (every kiln layer, and Sequential, ModuleList,
  // ModuleDict) have it; on any other module it throws ValueError, as in LibTorch.
  virtual std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const;

  // This module as a T (a layer's Impl type or its holder): null when it is not one.
  template <class T>
  auto* as() {
    if constexpr (std::is_base_of_v<Module, T>) return dynamic_cast<T*>(this);
    else return dynamic_cast<typename T::element_type*>(this);
  }

  // --- registration ----------------------------------------------------------
  // A name is non-empty, has no '.', and is unique among this module's
  // parameters, buffers and children; violations throw kiln::ValueError.
  // Parameters are detached leaves with requires_grad set as asked. An
  // undefined tensor registers an absent slot (e.g. no bias): it is skipped by
  // parameters() and state_dict(). The returned handle shares the registered
  // tensor; to(...) converts tensors in place, so handles stay valid.
  Tensor register_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
  Tensor register_buffer(const std::string& name, Tensor tensor);
  template <class M>
  std::shared_ptr<M> register_module(const std::string& name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "register_module: M must derive from nn::Module");
    add_child(name, module);
    return module;
  }
  template <class M>
  ModuleHolder<M> register_module(const std::string& name, ModuleHolder<M> holder) {
    register_module(name, holder.ptr());
    return holder;
  }
  // Replaces a registered parameter/buffer/child of the same name (for
  // re-initialising or swapping a part). Throws if the name is unknown.
  void replace_parameter(const std::string& name, Tensor tensor);
  void replace_buffer(const std::string& name, Tensor tensor);
  template <class M>
  std::shared_ptr<M> replace_module(const std::string& name, std::shared_ptr<M> module) {
    static_assert(std::is_base_of_v<Module, M>, "replace_module: M must derive from nn::Module");
    replace_child(name, module);
    return module;
  }
  template <class M>
  ModuleHolder<M> replace_module(const std::string& name, ModuleHolder<M> holder) {
    replace_module(name, holder.ptr());
    return holder;
  }
  // Removes a child (ValueError if there is none of that name).
  void unregister_module(const std::string& name);

  // --- traversal (registration order, depth first; names are dotted paths) ---
  std::vector<Tensor> parameters(bool recurse = true) const;
  NamedTensors named_parameters(bool recurse = true) const;
  std::vector<Tensor> buffers(bool recurse = true) const;
  NamedTensors named_buffers(bool recurse = true) const;
  std::vector<std::shared_ptr<Module>> children() const;
  NamedModules named_children() const;
  // This module (name "" or prefix) and all descendants.
  std::vector<std::shared_ptr<Module>> modules(bool include_self = true);
  NamedModules named_modules(const std::string& prefix = "", bool include_self = true);
  // fn(module) on every module, children first, then this one.
  void apply(const std::function<void(Module&)>& fn);

  // --- mode ------------------------------------------------------------------
  // Sets training mode here and in every descendant (Dropout and BatchNorm
  // behave differently in eval mode).
  virtual void train(bool on = true);
  void eval() { train(false); }
  bool is_training() const { return training_; }

  // --- conversion --------------------------------------------------------------
  // Moves every parameter and buffer (and existing gradients). to(dtype)
  // converts floating tensors only (integer buffers such as
  // num_batches_tracked keep their type).
  virtual void to(Device device);
  virtual void to(DType dtype);
  void to(Device device, DType dtype) {
    to(device);
    to(dtype);
  }

  // Clears gradients: set_to_none drops them, otherwise they are zeroed.
  void zero_grad(bool set_to_none = true);

  // --- state -------------------------------------------------------------------
  // Parameters and buffers by dotted name (the tensors themselves, detached:
  // no copy).
  StateDict state_dict() const;
  // Copies values into the registered tensors (converting dtype/device to the
  // module's). Throws kiln::ValueError listing missing, unexpected (strict
  // only) and wrongly-shaped entries; on error nothing is copied.
  void load_state_dict(const StateDict& state, bool strict = true);

  // --- printing ----------------------------------------------------------------
  // One line about this module's own configuration, e.g. "Linear(in=784, out=10, bias=true)".
  // Printing a module (operator<<) shows the tree of these lines, and a
  // last line with the parameter count.
  virtual void pretty_print(std::ostream& os) const;

 protected:
  // For Cloneable: copies the type name and mode, not the parameters,
  // buffers or children, which the copy's reset() registers anew.
  Module(const Module& other);
  // Gives every parameter and buffer of this module tree (same names as in
  // `source`) a copy of source's values, on `device` if given, and copies
  // each descendant's training mode. Used by clone().
  void copy_state_from(const Module& source, const std::optional<Device>& device);

 private:
  struct Slot {
    std::string name;
    Tensor tensor;
  };
  void check_new_name(const std::string& name, const char* what) const;
  void add_child(const std::string& name, std::shared_ptr<Module> child);
  void replace_child(const std::string& name, std::shared_ptr<Module> child);
  void collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const;
  void convert_tensors(const std::function<Tensor(const Tensor&)>& convert, bool floating_only);
  friend std::ostream& print_tree(std::ostream& os, const Module& m, int indent);

  std::string type_name_;
  bool training_ = true;
  std::vector<Slot> parameters_;
  std::vector<Slot> buffers_;
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
};

// nn::Cloneable<Derived>: LibTorch's base for modules that clone(). Derived
// registers its parameters, buffers and children in reset() (its
// constructor calls reset()), and is copy-constructible (copies share
// nothing until reset() makes their own tensors):
//
//   struct NetImpl : nn::Cloneable<NetImpl> {
//     NetImpl() { reset(); }
//     void reset() override { fc = register_module("fc", nn::Linear(4, 2)); }
//     Tensor forward(const Tensor& x) { return fc(x); }
//     nn::Linear fc{nullptr};
//   };
template <class Derived>
class Cloneable : public Module {
 public:
  using Module::Module;
  // (Re)creates every parameter, buffer and child.
  virtual void reset() = 0;
  std::shared_ptr<Module> clone(const std::optional<Device>& device = std::nullopt) const override {
    auto copy = std::make_shared<Derived>(static_cast<const Derived&>(*this));
    copy->reset();
    copy->copy_state_from(*this, device);
    return copy;
  }
};

// The number of elements in the module's parameters (only those that
// require grad with trainable_only).
int64_t parameter_count(const Module& m, bool trainable_only = false);

// The module tree, indented, like PyTorch's print(model), then a line
// "Parameters: N (trainable: M)".
std::ostream& operator<<(std::ostream& os, const Module& m);
template <class T>
std::ostream& operator<<(std::ostream& os, const ModuleHolder<T>& m) {
  return os << *m;
}

}  // namespace kiln::nn

// KILN_MODULE(Net) declares the holder `Net` of a module class `NetImpl`
// (LibTorch's TORCH_MODULE): `Net net(args...)` makes a shared NetImpl,
// `net->` reaches it and `net(x)` calls its forward.
#define KILN_MODULE(Name) using Name = ::kiln::nn::ModuleHolder<Name##Impl>
