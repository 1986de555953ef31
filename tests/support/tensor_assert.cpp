#include "support/tensor_assert.h"

#include <cmath>
#include <sstream>

namespace kiln::testing {

::testing::AssertionResult tensors_close(const Tensor& a, const Tensor& b, double rtol, double atol) {
  if (a.sizes() != b.sizes())
    return ::testing::AssertionFailure() << "shapes differ: " << shape_str(a.sizes()) << " vs " << shape_str(b.sizes());
  NoGradGuard no_grad;
  std::vector<double> av = a.to_vector<double>(), bv = b.to_vector<double>();
  double worst = 0;
  int64_t worst_i = -1;
  for (size_t i = 0; i < av.size(); ++i) {
    const bool both_nan = std::isnan(av[i]) && std::isnan(bv[i]);
    if (both_nan || av[i] == bv[i]) continue;
    const double excess = std::abs(av[i] - bv[i]) - (atol + rtol * std::abs(bv[i]));
    if (excess > worst || std::isnan(excess)) {
      worst = std::isnan(excess) ? INFINITY : excess;
      worst_i = static_cast<int64_t>(i);
    }
  }
  if (worst_i < 0) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << "element " << worst_i << ": " << av[worst_i] << " vs " << bv[worst_i]
                                       << " (rtol " << rtol << ", atol " << atol << ")";
}

}  // namespace kiln::testing
