// Rows for multinomial (include/kiln/ops/factory.h), the op of
// src/ops/multinomial.cpp, src/cpu/multinomial_cpu.cpp,
// src/cuda/multinomial_cuda.cpp and kernels/multinomial.cu. The reference
// replays the draws from the same Philox numbers with a plain running sum
// in f64 (the kernels' chunked order gives the same indices unless a draw
// falls within rounding of a boundary); on a GPU the CUDA indices must equal
// the CPU's exactly. Frequencies are tested in tests/ops/sampling_test.cpp.
#include "functors/philox.h"
#include "ops/rows_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

constexpr uint64_t kSeed = 1234;

Ref ref_multinomial(const Ref& w, int64_t S, bool replacement) {
  const bool vec = w.shape.size() == 1;
  const int64_t n = w.shape.back(), R = vec ? 1 : w.shape[0];
  Ref out{vec ? Shape{S} : Shape{R, S}, {}, kInt64};
  for (int64_t r = 0; r < R; ++r) {
    std::vector<double> row(w.v.begin() + r * n, w.v.begin() + (r + 1) * n);
    for (int64_t s = 0; s < S; ++s) {
      const double u = functors::uniform_double(functors::philox_pair(kSeed, 0, static_cast<uint64_t>(r * S + s)));
      double total = 0;
      for (double x : row) total += x;
      const double target = u * total;
      double acc = 0;
      int64_t pick = n - 1;
      for (int64_t i = 0; i < n; ++i) {
        acc += row[i];
        if (acc > target) {
          pick = i;
          break;
        }
      }
      out.v.push_back(static_cast<double>(pick));
      if (!replacement) row[pick] = 0;
    }
  }
  return out;
}

}  // namespace

std::vector<OpRow> multinomial_rows() {
  OpRow r;
  r.name = "multinomial";
  r.dtypes = floating_dtypes();
  r.domain = Domain::Positive;
  r.out_dtype = int64_dtype;
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    manual_seed(kSeed);
    return multinomial(v[0], a.i("samples"), a.b("replacement"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_multinomial(v[0], a.i("samples"), a.b("replacement"));
  });
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&](SampleInput w, int64_t samples, bool replacement) {
      s.push_back(sample({w}, Attrs().i("samples", samples).b("replacement", replacement),
                         "s" + std::to_string(samples) + (replacement ? "_replacement" : "")));
    };
    add(in({7}), 20, true);
    add(in({7}), 7, false);
    add(in({4, 10}), 3, false);
    add(in({4, 10}), 50, true);
    add(in({3, 6}, kT), 4, true);
    add(in({1}), 5, true);
    add(in({2, 1000}), 30, false);  // several chunks of kMultinomialChunk
    add(in({3, 600}), 100, true);
    s.push_back(sample({fixed({2, 4}, {0, 1, 0, 3, 2, 0, 0, 0}, kFloat32)},
                       Attrs().i("samples", 16).b("replacement", true), "zero_weights"));
    return s;
  };
  for (DType t : {kFloat64, kFloat16, kBFloat16})
    r.skips.push_back(Skip{"", t, "zero_weights", "fixed float32 weights: runs as float32 only"});
  r.errors = {
      error("negative_weight", [] { multinomial(tensor({1.0f, -1.0f}), 1); }, ErrorKind::Value,
            {"multinomial", "row 0", ">= 0"}),
      error("all_zero", [] { multinomial(zeros({2, 3}), 1, true); }, ErrorKind::Value, {"multinomial", "not all zero"}),
      error("nan_weight", [] { multinomial(tensor({1.0f, NAN}), 1); }, ErrorKind::Value, {"multinomial", "finite"}),
      error("too_few_nonzero", [] { multinomial(tensor({1.0f, 0.0f, 0.0f}), 2); }, ErrorKind::Value,
            {"multinomial", "at least 2 non-zero"}),
      error("too_many_samples", [] { multinomial(ones({3}), 4); }, ErrorKind::Value,
            {"multinomial", "4 samples without replacement from 3"}),
      error("rank", [] { multinomial(ones({2, 2, 2}), 1); }, ErrorKind::Shape, {"multinomial", "[n] or [R, n]"}),
  };
  return {r};
}

}  // namespace kiln::testing
