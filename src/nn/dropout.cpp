#include "kiln/nn/dropout.h"

#include "kiln/ops/nn.h"

namespace kiln::nn {

DropoutImpl::DropoutImpl(const DropoutOptions& o) : Cloneable("Dropout"), options(o) {
  KILN_CHECK(o.p() >= 0 && o.p() <= 1, ValueError, "Dropout: p must be in [0, 1], got ", o.p());
}

Tensor DropoutImpl::forward(const Tensor& x) { return dropout(x, options.p(), is_training()); }

void DropoutImpl::pretty_print(std::ostream& os) const { os << "Dropout(p=" << options.p() << ")"; }

}  // namespace kiln::nn
