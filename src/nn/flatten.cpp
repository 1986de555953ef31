#include "kiln/nn/flatten.h"

namespace kiln::nn {

FlattenImpl::FlattenImpl(int64_t start, int64_t end) : Module("Flatten"), start_dim(start), end_dim(end) {}

Tensor FlattenImpl::forward(const Tensor& x) { return x.flatten(start_dim, end_dim); }

void FlattenImpl::pretty_print(std::ostream& os) const {
  os << "Flatten(start_dim=" << start_dim << ", end_dim=" << end_dim << ")";
}

}  // namespace kiln::nn
