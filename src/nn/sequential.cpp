#include "kiln/nn/sequential.h"

#include <typeinfo>

#include "kiln/nn/activation.h"
#include "kiln/nn/batch_norm.h"

namespace kiln::nn {

namespace {

// A BatchNorm1d/2d directly followed by a ReLU runs as one batch_norm_relu
// (same values and gradients, fewer passes over memory on the CPU). The
// types must match exactly: a subclass may have its own forward.
template <class BN>
bool batch_norm_then_relu(Module& a, const Module& b, Tensor& y) {
  if (typeid(a) != typeid(BN) || typeid(b) != typeid(ReLUImpl)) return false;
  y = static_cast<BN&>(a).forward_relu(y);
  return true;
}

}  // namespace

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  for (size_t i = 0; i < steps_.size(); ++i) {
    if (i + 1 < steps_.size()) {
      Module& a = *steps_[i].module;
      const Module& b = *steps_[i + 1].module;
      if (batch_norm_then_relu<BatchNorm2dImpl>(a, b, y) || batch_norm_then_relu<BatchNorm1dImpl>(a, b, y)) {
        ++i;
        continue;
      }
    }
    y = steps_[i].forward(*steps_[i].module, y);
  }
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
