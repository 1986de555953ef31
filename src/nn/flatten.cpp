#include "kiln/nn/flatten.h"

namespace kiln::nn {

FlattenImpl::FlattenImpl(const FlattenOptions& o) : Cloneable("Flatten"), options(o) {}

Tensor FlattenImpl::forward(const Tensor& x) { return x.flatten(options.start_dim(), options.end_dim()); }

void FlattenImpl::pretty_print(std::ostream& os) const {
  os << "Flatten(start_dim=" << options.start_dim() << ", end_dim=" << options.end_dim() << ")";
}

}  // namespace kiln::nn
