// dropout: a Philox mask from the default generator, scaled so the
// expectation is unchanged. Autograd comes from the multiplication.
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "kiln/ops/nn.h"
#include "ops/op_util.h"

namespace kiln {

Tensor dropout(const Tensor& x, double p, bool training) {
  detail::check_defined("dropout", x);
  KILN_CHECK(p >= 0 && p <= 1, ValueError, "dropout: p must be in [0, 1], got ", p);
  if (!training || p == 0) return x;
  detail::check_floating("dropout", x);
  Tensor mask;
  {
    NoGradGuard no_grad;
    if (p == 1) {
      mask = zeros_like(x);
    } else {
      // u in [0, 1) is kept with probability 1 - p.
      mask = (rand_like(x) >= full({}, p, x.options())).to(x.dtype()) * (1.0 / (1.0 - p));
    }
  }
  return x * mask;
}

}  // namespace kiln
