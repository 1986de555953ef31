// The row for multi_tensor_norm (include/kiln/ops/reduce.h): per tensor, the
// L2 norm and the count of NaN/inf elements, float64 [T, 2] whatever the
// input dtype. Samples mix sizes (empty, one element, strided, and one
// spanning several 65536-element chunks); the non-finite count is checked
// with NaN/inf gradients in tests/train/health_guard_test.cpp.
#include <cmath>

#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

std::vector<OpRow> multi_tensor_norm_rows() {
  OpRow r;
  r.name = "multi_tensor_norm";
  r.dtypes = floating_dtypes();
  r.out_dtype = [](DType) { return kFloat64; };
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs&) { return multi_tensor_norm(v); });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs&) {
    Ref out;
    out.shape = {static_cast<int64_t>(v.size()), 2};
    for (const Ref& t : v) {
      double s = 0, bad = 0;
      for (double x : t.v) {
        if (std::isfinite(x)) s += x * x;
        else bad += 1;
      }
      out.v.push_back(std::sqrt(s));
      out.v.push_back(bad);
    }
    return out;
  });
  r.samples = [] {
    return std::vector<Sample>{
        sample({in({7})}),
        sample({in({4, 7}), in({7}), in({})}),
        sample({in({3, 5}, kT), in({2, 3, 4}, kS), in({0, 3})}),
        sample({in({1}), in({300, 257}), in({5, 6}, kE)}),
        sample({in({3, 70000}), in({9})}),
    };
  };
  r.errors = {
      error("empty_list", [] { multi_tensor_norm({}); }, ErrorKind::Value, {"multi_tensor_norm", "at least one"}),
      error("integer", [] { multi_tensor_norm({zeros({3}), zeros({2}, kInt64)}); }, ErrorKind::DType,
            {"multi_tensor_norm", "tensor 1", "floating"}),
  };
  return {r};
}

}  // namespace kiln::testing
