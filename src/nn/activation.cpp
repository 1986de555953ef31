#include "kiln/nn/activation.h"

#include "kiln/ops/math.h"

namespace kiln::nn {

Tensor ReLUImpl::forward(const Tensor& x) { return relu(x); }

GELUImpl::GELUImpl(std::string approx) : Module("GELU"), approximate(std::move(approx)) {
  KILN_CHECK(approximate == "none" || approximate == "tanh", ValueError,
             "GELU: approximate must be \"none\" or \"tanh\", got \"", approximate, "\"");
}
Tensor GELUImpl::forward(const Tensor& x) { return gelu(x, approximate); }
void GELUImpl::pretty_print(std::ostream& os) const { os << "GELU(approximate=" << approximate << ")"; }

Tensor SiLUImpl::forward(const Tensor& x) { return silu(x); }

Tensor TanhImpl::forward(const Tensor& x) { return tanh(x); }

}  // namespace kiln::nn
