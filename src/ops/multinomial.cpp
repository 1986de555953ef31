// multinomial: category draws from rows of weights by one backend primitive
// (functors/multinomial.h: the same f64 arithmetic on every device, from
// Philox numbers reserved here). Weights are checked inside the primitive;
// a bad row is raised through Backend::defer_error_check, so sampling on a
// GPU does not wait for the device.
#include "kiln/core/generator.h"
#include "kiln/core/grad_mode.h"
#include "kiln/ops/factory.h"
#include "ops/op_util.h"

namespace kiln {

Tensor multinomial(const Tensor& weights, int64_t num_samples, bool replacement) {
  const char* op = "multinomial";
  detail::check_defined(op, weights);
  detail::check_floating(op, weights);
  KILN_CHECK(weights.dim() == 1 || weights.dim() == 2, ShapeError, op, ": weights must be [n] or [R, n], got ",
             detail::describe(weights));
  const int64_t n = weights.size(-1);
  KILN_CHECK(n > 0, ValueError, op, ": weights must have at least one category, got ", detail::describe(weights));
  KILN_CHECK(num_samples > 0, ValueError, op, ": num_samples must be positive, got ", num_samples);
  KILN_CHECK(replacement || num_samples <= n, ValueError, op, ": cannot draw ", num_samples,
             " samples without replacement from ", n, " categories");
  NoGradGuard no_grad;
  Tensor w = weights.detach().contiguous().reshape({weights.dim() == 1 ? 1 : weights.size(0), n});
  const int64_t R = w.size(0);
  Tensor out = detail::make_empty({R, num_samples}, kInt64, w.device());
  if (R > 0) {
    const uint64_t draws = static_cast<uint64_t>(R * num_samples);
    const GeneratorState state = detail::reserve_philox_blocks((draws + 1) / 2);
    Tensor errors = zeros({2}, TensorOptions(kInt64).device(w.device()));
    detail::Backend& backend = detail::backend_of(w);
    backend.multinomial(w, num_samples, replacement, state, out, errors);
    backend.defer_error_check(errors, [replacement, num_samples](int64_t count, int64_t row) {
      KILN_CHECK(count == 0, ValueError, "multinomial: the weights of row ", row, " (and ", count - 1,
                 " other rows) must be finite, >= 0 and not all zero",
                 replacement ? "" : detail::str_cat(", with at least ", num_samples, " non-zero (no replacement)"));
    });
  }
  return weights.dim() == 1 ? out.reshape({num_samples}) : out;
}

}  // namespace kiln
