#include "kiln/nn/dropout.h"

#include "kiln/ops/nn.h"

namespace kiln::nn {

DropoutImpl::DropoutImpl(double p_) : Module("Dropout"), p(p_) {
  KILN_CHECK(p >= 0 && p <= 1, ValueError, "Dropout: p must be in [0, 1], got ", p);
}

Tensor DropoutImpl::forward(const Tensor& x) { return dropout(x, p, is_training()); }

void DropoutImpl::pretty_print(std::ostream& os) const { os << "Dropout(p=" << p << ")"; }

}  // namespace kiln::nn
