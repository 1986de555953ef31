#include "kiln/nn/dropout.h"

#include "kiln/ops/nn.h"

namespace kiln::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& o) : Cloneable("Dropout"), options(o) {
  KILN_CHECK(o.p() >= 0 && o.p() <= 1, ValueError, "Dropout: p must be in [0, 1], got ", o.p());
}

Tensor DropoutImpl::forward(const Tensor& x) {
  Tensor y = dropout(x, options.p(), is_training());
  if (!options.inplace() || y.is_same(x)) return y;
  Tensor self = x;  // the same tensor: the write reaches the caller's
  self.copy_(y);
  return self;
}

void DropoutImpl::pretty_print(std::ostream& os) const {
  os << "Dropout(p=" << options.p() << (options.inplace() ? ", inplace=true" : "") << ")";
}

}  // namespace kiln::nn
