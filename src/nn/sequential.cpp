#include "kiln/nn/sequential.h"

namespace kiln::nn {

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  for (const Step& s : steps_) y = s.forward(*s.module, y);
  return y;
}

std::shared_ptr<Module> SequentialImpl::operator[](size_t i) const {
  KILN_CHECK(i < steps_.size(), IndexError, "Sequential: index ", i, " is out of range for ", steps_.size(),
             " modules");
  return steps_[i].module;
}

void SequentialImpl::extend(const SequentialImpl& other) {
  KILN_CHECK(&other != this, ValueError, "Sequential::extend: cannot extend a Sequential with itself");
  for (const Step& s : other.steps_) {
    register_module(std::to_string(steps_.size()), s.module);
    steps_.push_back(s);
  }
}

std::shared_ptr<Module> SequentialImpl::clone(const std::optional<Device>& device) const {
  auto copy = std::make_shared<SequentialImpl>();
  const NamedModules names = named_children();
  for (size_t i = 0; i < steps_.size(); ++i) {
    std::shared_ptr<Module> child = steps_[i].module->clone(device);
    copy->register_module(names[i].key(), child);
    copy->steps_.push_back({child, steps_[i].forward});
  }
  if (!is_training()) copy->eval();
  return copy;
}

}  // namespace kiln::nn
