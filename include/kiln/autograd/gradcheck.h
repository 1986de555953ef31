// Checks analytic gradients against central differences in float64.
#pragma once
#include <functional>
#include <string>
#include <vector>

#include "kiln/core/tensor.h"

namespace kiln::autograd {

struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
};

struct GradcheckResult {
  bool ok = true;
  // Where the worst disagreement is, for the failure message.
  size_t input = 0;
  int64_t element = 0;
  double analytic = 0;
  double numeric = 0;
  double abs_error = 0;
  std::string report;  // human-readable summary
};

// f maps the inputs to one tensor (any shape). Inputs that require grad are
// checked; they must be float64. Compares the Jacobian-vector product with a
// random projection of the output: d<v, f(x)>/dx analytic vs numeric.
GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opts = {});

}  // namespace kiln::autograd
