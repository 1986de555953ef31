// Rows for cumsum (include/kiln/ops/reduce.h), the op of src/ops/cumsum.cpp,
// src/cpu/cumsum_cpu.cpp, src/cuda/cumsum_cuda.cpp and kernels/cumsum.cu.
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

std::vector<OpRow> cumsum_rows() {
  OpRow r;
  r.name = "cumsum";
  r.dtypes = numeric_dtypes();
  r.out_dtype = [](DType t) { return is_floating(t) ? t : kInt64; };
  r.grad = grad_on();
  // The GPU scans f32 in f32 (the CPU in f64): allow for a long row's rounding.
  r.tolerances = {{kFloat32, {1e-5, 1e-4}}, {kFloat16, {2e-3, 4e-3}}, {kBFloat16, {1.6e-2, 3e-2}}};
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) { return cumsum(v[0], a.i("dim")); });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    const Ref& x = v[0];
    Ref out{x.shape, x.v, std::nullopt};
    if (x.shape.empty()) return out;
    const int64_t nd = static_cast<int64_t>(x.shape.size());
    const int64_t d = a.i("dim") < 0 ? a.i("dim") + nd : a.i("dim");
    const Shape st = contiguous_strides_of(x.shape);
    for (int64_t i = 0; i < numel_of(x.shape); ++i) {
      const std::vector<int64_t> idx = unravel(i, x.shape);
      if (idx[d] == 0) continue;
      out.v[i] = out.v[i - st[d]] + x.v[i];  // earlier positions along d come first in row-major order
    }
    return out;
  });
  r.samples = [] {
    std::vector<Sample> s;
    const std::vector<std::pair<SampleInput, int64_t>> cases = {
        {in({4, 7}), 1},   {in({4, 7}), 0},      {in({2, 3, 5}), 1}, {in({3, 6}, kT), -1}, {in({5, 6}, kE), 0},
        {in({}), 0},       {in({1, 1, 5}), -1},  {in({0, 4}), 1},    {in({9}), 0},         {in({6, 1000}), 1},
        {in({600, 3}), 0}, {in({2, 2100}), -1}};
    for (const auto& [input, dim] : cases) s.push_back(sample({input}, Attrs().i("dim", dim), "dim" + std::to_string(dim)));
    return s;
  };
  r.errors = {error("dim_out_of_range", [] { cumsum(zeros({2, 3}), 2); }, ErrorKind::Index, {"cumsum", "dim 2"})};
  return {r};
}

}  // namespace kiln::testing
