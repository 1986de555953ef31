#include "kiln/nn/activation.h"

#include "kiln/ops/math.h"

namespace kiln::nn {

Tensor ReLUImpl::forward(const Tensor& x) { return relu(x); }

GELUImpl::GELUImpl(const GELUOptions& o) : Cloneable("GELU"), options(o) {
  KILN_CHECK(o.approximate() == "none" || o.approximate() == "tanh", ValueError,
             "GELU: approximate must be \"none\" or \"tanh\", got \"", o.approximate(), "\"");
}
Tensor GELUImpl::forward(const Tensor& x) { return gelu(x, options.approximate()); }
void GELUImpl::pretty_print(std::ostream& os) const { os << "GELU(approximate=" << options.approximate() << ")"; }

Tensor SiLUImpl::forward(const Tensor& x) { return silu(x); }

Tensor TanhImpl::forward(const Tensor& x) { return tanh(x); }

}  // namespace kiln::nn
