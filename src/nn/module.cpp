#include "kiln/nn/module.h"

#include <algorithm>
#include <sstream>

#include "core/tensor_checks.h"
#include "core/tensor_impl.h"
#include "kiln/core/grad_mode.h"

namespace kiln::nn {

namespace {

// Makes `dst` hold `src`'s data, keeping dst's identity (its TensorImpl) and
// autograd flags, so every handle to a parameter (a layer's `weight` member,
// an optimizer's list) sees the converted tensor. This is what LibTorch's
// set_data does; only modules use it.
void assign_in_place(const Tensor& dst, const Tensor& src) {
  detail::TensorImpl& d = *dst.unsafe_impl();
  const detail::TensorImpl& s = *src.unsafe_impl();
  d.storage = s.storage;
  d.sizes = s.sizes;
  d.strides = s.strides;
  d.offset = s.offset;
  d.dtype = s.dtype;
  d.numel = s.numel;
  d.is_view = false;
}

std::string join(const std::string& prefix, const std::string& name) {
  return prefix.empty() ? name : prefix + "." + name;
}

}  // namespace

Module::Module(std::string type_name) : type_name_(std::move(type_name)) {}

void Module::check_new_name(const std::string& name, const char* what) const {
  KILN_CHECK(!name.empty(), ValueError, what, ": name must not be empty (module ", type_name_, ")");
  KILN_CHECK(name.find('.') == std::string::npos, ValueError, what, ": name '", name,
             "' must not contain '.' (module ", type_name_, ")");
  auto taken = [&](const auto& list) {
    return std::any_of(list.begin(), list.end(), [&](const auto& e) { return e.first == name; });
  };
  bool clash = std::any_of(parameters_.begin(), parameters_.end(), [&](const Slot& s) { return s.name == name; }) ||
               std::any_of(buffers_.begin(), buffers_.end(), [&](const Slot& s) { return s.name == name; }) ||
               taken(children_);
  KILN_CHECK(!clash, ValueError, what, ": name '", name, "' is already registered in module ", type_name_);
}

Tensor Module::register_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
  check_new_name(name, "register_parameter");
  if (tensor.defined()) {
    KILN_CHECK(!requires_grad || tensor.is_floating_point(), DTypeError, "register_parameter: '", name,
               "' is ", detail::describe(tensor), "; only floating tensors can require gradients");
    tensor = tensor.detach();
    tensor.requires_grad_(requires_grad);
  }
  parameters_.push_back({name, tensor});
  return tensor;
}

Tensor Module::register_buffer(const std::string& name, Tensor tensor) {
  check_new_name(name, "register_buffer");
  if (tensor.defined()) tensor = tensor.detach();
  buffers_.push_back({name, tensor});
  return tensor;
}

void Module::add_child(const std::string& name, std::shared_ptr<Module> child) {
  check_new_name(name, "register_module");
  KILN_CHECK(child != nullptr, ValueError, "register_module: '", name, "' is an empty module (module ", type_name_,
             ")");
  KILN_CHECK(child.get() != this, ValueError, "register_module: a module cannot be its own child ('", name, "')");
  children_.emplace_back(name, std::move(child));
}

void Module::replace_parameter(const std::string& name, Tensor tensor) {
  for (Slot& s : parameters_) {
    if (s.name != name) continue;
    const bool rg = s.tensor.defined() ? s.tensor.requires_grad() : true;
    if (tensor.defined()) {
      tensor = tensor.detach();
      tensor.requires_grad_(rg && tensor.is_floating_point());
    }
    s.tensor = tensor;
    return;
  }
  KILN_CHECK(false, ValueError, "replace_parameter: module ", type_name_, " has no parameter '", name, "'");
}

void Module::replace_buffer(const std::string& name, Tensor tensor) {
  for (Slot& s : buffers_) {
    if (s.name != name) continue;
    s.tensor = tensor.defined() ? tensor.detach() : tensor;
    return;
  }
  KILN_CHECK(false, ValueError, "replace_buffer: module ", type_name_, " has no buffer '", name, "'");
}

// --- traversal ---------------------------------------------------------------

void Module::collect(const std::string& prefix, bool recurse, bool params, NamedTensors& out) const {
  for (const Slot& s : params ? parameters_ : buffers_) {
    if (s.tensor.defined()) out.emplace_back(join(prefix, s.name), s.tensor);
  }
  if (!recurse) return;
  for (const auto& [name, child] : children_) child->collect(join(prefix, name), true, params, out);
}

NamedTensors Module::named_parameters(bool recurse) const {
  NamedTensors out;
  collect("", recurse, true, out);
  return out;
}

NamedTensors Module::named_buffers(bool recurse) const {
  NamedTensors out;
  collect("", recurse, false, out);
  return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
  return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
  std::vector<Tensor> out;
  for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
  return out;
}

std::vector<std::shared_ptr<Module>> Module::children() const {
  std::vector<std::shared_ptr<Module>> out;
  for (const auto& [name, child] : children_) out.push_back(child);
  return out;
}

NamedModules Module::named_children() const { return NamedModules(children_.begin(), children_.end()); }

NamedModules Module::named_modules(const std::string& prefix, bool include_self) {
  NamedModules out;
  if (include_self) {
    // A module not owned by a shared_ptr (a user model on the stack) is
    // returned through a non-owning pointer.
    std::shared_ptr<Module> self = weak_from_this().lock();
    if (!self) self = std::shared_ptr<Module>(std::shared_ptr<Module>(), this);
    out.emplace_back(prefix, self);
  }
  for (const auto& [name, child] : children_) {
    NamedModules sub = child->named_modules(join(prefix, name), true);
    out.insert(out.end(), sub.begin(), sub.end());
  }
  return out;
}

std::vector<std::shared_ptr<Module>> Module::modules(bool include_self) {
  std::vector<std::shared_ptr<Module>> out;
  for (auto& [name, m] : named_modules("", include_self)) out.push_back(m);
  return out;
}

void Module::apply(const std::function<void(Module&)>& fn) {
  for (auto& [name, child] : children_) child->apply(fn);
  fn(*this);
}

// --- mode and conversion -----------------------------------------------------------

void Module::train(bool on) {
  training_ = on;
  for (auto& [name, child] : children_) child->train(on);
}

void Module::convert_tensors(const std::function<Tensor(const Tensor&)>& convert, bool floating_only) {
  NoGradGuard no_grad;
  auto convert_slot = [&](const Tensor& t) {
    if (!t.defined() || (floating_only && !t.is_floating_point())) return;
    Tensor g = t.grad();
    assign_in_place(t, convert(t.detach()));
    if (g.defined()) t.set_grad(convert(g));
  };
  for (Slot& s : parameters_) convert_slot(s.tensor);
  for (Slot& s : buffers_) convert_slot(s.tensor);
}

void Module::to(Device device) {
  for (auto& [name, m] : named_modules()) {
    m->convert_tensors([&](const Tensor& t) { return t.to(device); }, false);
  }
}

void Module::to(DType dtype) {
  KILN_CHECK(is_floating(dtype), DTypeError, "Module::to: target dtype ", dtype,
             " is not floating; modules convert only their floating tensors");
  for (auto& [name, m] : named_modules()) {
    m->convert_tensors([&](const Tensor& t) { return t.to(dtype); }, true);
  }
}

void Module::zero_grad(bool set_to_none) {
  for (Tensor& p : parameters()) {
    Tensor g = p.grad();
    if (!g.defined()) continue;
    if (set_to_none) {
      p.set_grad(Tensor());
    } else {
      NoGradGuard no_grad;
      g.zero_();
    }
  }
}

// --- state ---------------------------------------------------------------------------

StateDict Module::state_dict() const {
  StateDict out;
  for (auto& [name, t] : named_parameters()) out[name] = t.detach();
  for (auto& [name, t] : named_buffers()) out[name] = t.detach();
  return out;
}

void Module::load_state_dict(const StateDict& state, bool strict) {
  NamedTensors own = named_parameters();
  NamedTensors bufs = named_buffers();
  own.insert(own.end(), bufs.begin(), bufs.end());

  std::vector<std::string> missing, unexpected, mismatched;
  for (const auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end()) {
      missing.push_back(name);
    } else if (!it->second.defined() || it->second.sizes() != t.sizes()) {
      mismatched.push_back(name + ": checkpoint " +
                           (it->second.defined() ? shape_str(it->second.sizes()) : std::string("undefined")) +
                           " vs module " + shape_str(t.sizes()));
    }
  }
  for (const auto& entry : state) {
    // Not a structured binding: C++17 lambdas cannot capture one.
    const std::string& name = entry.first;
    bool known = std::any_of(own.begin(), own.end(), [&](const auto& e) { return e.first == name; });
    if (!known) unexpected.push_back(name);
  }
  const bool fail = !mismatched.empty() || (strict && (!missing.empty() || !unexpected.empty()));
  if (fail) {
    std::ostringstream os;
    os << "load_state_dict: state does not match module " << type_name_ << ".";
    auto list = [&](const char* what, const std::vector<std::string>& names) {
      if (names.empty()) return;
      os << " " << what << " (" << names.size() << "):";
      for (size_t i = 0; i < names.size(); ++i) os << (i ? ", " : " ") << names[i];
      os << ".";
    };
    list("Missing keys", strict ? missing : std::vector<std::string>{});
    list("Unexpected keys", strict ? unexpected : std::vector<std::string>{});
    list("Shape mismatches", mismatched);
    throw ValueError(os.str());
  }
  NoGradGuard no_grad;
  for (const auto& [name, t] : own) {
    auto it = state.find(name);
    if (it == state.end()) continue;
    Tensor dst = t;
    dst.copy_(it->second.to(t.device()).to(t.dtype()));
  }
}

// --- printing -------------------------------------------------------------------------

void Module::pretty_print(std::ostream& os) const { os << type_name_; }

std::ostream& print_tree(std::ostream& os, const Module& m, int indent) {
  m.pretty_print(os);
  if (m.children_.empty()) return os;
  os << "(\n";
  for (const auto& [name, child] : m.children_) {
    os << std::string(static_cast<size_t>(indent + 2), ' ') << "(" << name << "): ";
    print_tree(os, *child, indent + 2);
    os << "\n";
  }
  return os << std::string(static_cast<size_t>(indent), ' ') << ")";
}

std::ostream& operator<<(std::ostream& os, const Module& m) { return print_tree(os, m, 0); }

}  // namespace kiln::nn
