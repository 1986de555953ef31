// gradcheck: the analytic vector-Jacobian product of a random projection
// v of the output against central differences of <v, f(x)> (PyTorch's
// "fast mode"), in float64.
#include "kiln/autograd/gradcheck.h"

#include <cmath>
#include <sstream>

#include "kiln/autograd/autograd.h"
#include "kiln/core/generator.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "kiln/ops/math.h"
#include "kiln/ops/reduce.h"

namespace kiln::autograd {

namespace {
// Byte offset of logical element j of t from its first element.
int64_t element_offset(const Tensor& t, int64_t j) {
  int64_t off = 0;
  for (int64_t d = t.dim() - 1; d >= 0; --d) {
    off += (j % t.size(d)) * t.stride(d);
    j /= t.size(d);
  }
  return off;
}
}  // namespace

GradcheckResult gradcheck(const std::function<Tensor(const std::vector<Tensor>&)>& f,
                          const std::vector<Tensor>& inputs, const GradcheckOptions& opts) {
  std::vector<size_t> checked;
  for (size_t i = 0; i < inputs.size(); ++i) {
    if (!inputs[i].defined() || !inputs[i].requires_grad()) continue;
    KILN_CHECK(inputs[i].dtype() == kFloat64 && inputs[i].device().is_cpu(), DTypeError,
               "gradcheck: input ", i, " must be a float64 cpu tensor, got ", inputs[i].dtype(), " on ",
               inputs[i].device());
    checked.push_back(i);
  }
  KILN_CHECK(!checked.empty(), ValueError, "gradcheck: no input requires grad");

  // A fixed projection, without disturbing the user's generator.
  const GeneratorState saved_rng = get_rng_state();
  Tensor out = f(inputs);
  manual_seed(0x6b696c6eull);
  Tensor v = randn(out.sizes(), TensorOptions(kFloat64).device(out.device()));
  set_rng_state(saved_rng);

  std::vector<Tensor> wrt;
  for (size_t i : checked) wrt.push_back(inputs[i]);
  std::vector<Tensor> analytic;
  if (out.requires_grad()) {
    Tensor loss = sum(out.to(kFloat64) * v);
    analytic = grad({loss}, wrt, {}, false, /*create_graph=*/false, /*allow_unused=*/true);
  } else {
    analytic.resize(wrt.size());
  }

  auto projected = [&]() {
    NoGradGuard no_grad;
    return sum(f(inputs).to(kFloat64) * v).item<double>();
  };

  GradcheckResult result;
  double worst_excess = -1;
  for (size_t k = 0; k < checked.size(); ++k) {
    const Tensor& x = inputs[checked[k]];
    Tensor a = analytic[k].defined() ? analytic[k].contiguous() : zeros(x.sizes(), kFloat64);
    const double* ap = a.data_ptr<double>();
    char* base = static_cast<char*>(x.raw_data_ptr());
    for (int64_t j = 0; j < x.numel(); ++j) {
      double* p = reinterpret_cast<double*>(base + element_offset(x, j) * 8);
      const double orig = *p;
      *p = orig + opts.eps;
      const double plus = projected();
      *p = orig - opts.eps;
      const double minus = projected();
      *p = orig;
      const double numeric = (plus - minus) / (2 * opts.eps);
      const double err = std::abs(ap[j] - numeric);
      const double excess = err - (opts.atol + opts.rtol * std::abs(numeric));
      if (excess > worst_excess || std::isnan(err)) {
        worst_excess = std::isnan(err) ? INFINITY : excess;
        result.input = checked[k];
        result.element = j;
        result.analytic = ap[j];
        result.numeric = numeric;
        result.abs_error = err;
      }
    }
  }
  result.ok = worst_excess <= 0;
  std::ostringstream os;
  os << (result.ok ? "gradcheck passed" : "gradcheck FAILED") << ": worst element " << result.element << " of input "
     << result.input << ": analytic " << result.analytic << " vs numeric " << result.numeric << " (abs error "
     << result.abs_error << ", atol " << opts.atol << ", rtol " << opts.rtol << ")";
  result.report = os.str();
  return result;
}

}  // namespace kiln::autograd
