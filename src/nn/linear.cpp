#include "kiln/nn/linear.h"

#include "kiln/nn/init.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/nn.h"

namespace kiln::nn {

LinearImpl::LinearImpl(const LinearOptions& o) : Cloneable("Linear"), options(o) { reset(); }

void LinearImpl::reset() {
  const int64_t in = options.in_features(), out = options.out_features();
  KILN_CHECK(in >= 0 && out >= 0, ValueError, "Linear: feature counts must be >= 0, got in=", in, " out=", out);
  weight = register_parameter("weight", empty({out, in}));
  bias = options.bias() ? register_parameter("bias", empty({out})) : Tensor();
  reset_parameters();
}

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias)
    : LinearImpl(LinearOptions(in, out).bias(with_bias)) {}

void LinearImpl::reset_parameters() { init::default_linear_or_conv_init(weight, bias); }

Tensor LinearImpl::forward(const Tensor& x) { return linear(x, weight, bias); }

void LinearImpl::pretty_print(std::ostream& os) const {
  os << "Linear(in_features=" << options.in_features() << ", out_features=" << options.out_features()
     << ", bias=" << (bias.defined() ? "true" : "false") << ")";
}

}  // namespace kiln::nn
