#include "kiln/nn/sequential.h"

namespace kiln::nn {

Tensor SequentialImpl::forward(const Tensor& x) {
  Tensor y = x;
  for (const Step& s : steps_) y = s.forward(y);
  return y;
}

std::shared_ptr<Module> SequentialImpl::operator[](size_t i) const {
  KILN_CHECK(i < steps_.size(), IndexError, "Sequential: index ", i, " is out of range for ", steps_.size(),
             " modules");
  return steps_[i].module;
}

}  // namespace kiln::nn
