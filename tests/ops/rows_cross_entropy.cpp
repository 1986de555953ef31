// Rows for cross_entropy (include/kiln/ops/nn.h), the op of
// src/ops/cross_entropy.cpp, src/cpu/cross_entropy_cpu.cpp,
// src/cuda/cross_entropy_cuda.cpp and kernels/cross_entropy.cu.
#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

Ref ref_cross_entropy(const Ref& x, const Ref& target, int64_t ignore_index, double smoothing,
                      const std::string& reduction) {
  auto [losses, valid] = per_position(x, target, ignore_index, [smoothing](const std::vector<double>& z, int64_t t) {
    double total = 0;
    for (double v : z) total += std::exp(v);
    const double lse = std::log(total);
    // -sum_c q_c log p_c with q = (1-e) onehot(t) + e/C.
    double loss = 0;
    const double C = static_cast<double>(z.size());
    for (size_t c = 0; c < z.size(); ++c) {
      const double q = (static_cast<int64_t>(c) == t ? 1 - smoothing : 0.0) + smoothing / C;
      loss -= q * (z[c] - lse);
    }
    return loss;
  });
  return reduce_loss(losses, reduction, valid);
}

}  // namespace

std::vector<OpRow> cross_entropy_rows() {
  OpRow r;
  r.name = "cross_entropy";
  r.dtypes = floating_dtypes();
  r.grad = grad_on();
  r.tolerances = {{kFloat32, {1e-5, 1e-5}}, {kFloat16, {4e-3, 1e-2}}, {kBFloat16, {2e-2, 6e-2}}};
  // Attributes ignore_index, label_smoothing, reduction.
  r.fn = one_output([](const std::vector<Tensor>& v, const Attrs& a) {
    return cross_entropy(v[0], v[1], a.i("ignore_index"), a.d("label_smoothing"), a.s("reduction"));
  });
  r.ref = one_ref([](const std::vector<Ref>& v, const Attrs& a) {
    return ref_cross_entropy(v[0], v[1], a.i("ignore_index"), a.d("label_smoothing"), a.s("reduction"));
  });
  r.samples = [] {
    std::vector<Sample> s;
    auto add = [&s](std::vector<SampleInput> inputs, int64_t ignore, double smoothing, std::string reduction,
                    const std::string& tag, bool differentiable = true) {
      Sample smp = sample(std::move(inputs),
                          Attrs().i("ignore_index", ignore).d("label_smoothing", smoothing).s("reduction", reduction),
                          tag + "_" + reduction);
      smp.differentiable = differentiable;
      s.push_back(smp);
    };
    const std::vector<double> t4 = {1, 0, 4, 2};
    for (const char* red : {"mean", "sum", "none"}) add({in({4, 5}), targets({4}, t4)}, -100, 0, red, "plain");
    add({in({4, 5}), targets({4}, t4)}, -100, 0.1, "mean", "smoothing01");
    add({in({4, 5}), targets({4}, t4)}, -100, 1.0, "sum", "smoothing1");
    add({in({4, 5}), targets({4}, {1, -100, 4, -100})}, -100, 0, "mean", "ignore_default");
    add({in({4, 5}), targets({4}, {1, 2, 4, 2})}, 2, 0.2, "mean", "ignore2_smoothing");
    add({in({4, 5}), targets({4}, {1, 2, 4, 2})}, 2, 0, "none", "ignore2");
    // Every target ignored: "mean" is 0/0 = nan, as in PyTorch.
    add({in({2, 3}), targets({2}, {-100, -100})}, -100, 0, "mean", "all_ignored", false);
    add({in({2, 3, 4}), targets({2, 4}, {0, 2, 1, 1, 2, 0, 0, 1})}, -100, 0, "none", "spatial");
    add({in({2, 3, 2, 2}), targets({2, 2, 2}, {0, 2, 1, -100, 2, 0, 0, 1})}, -100, 0.1, "mean", "spatial2d");
    add({in({5}), targets({}, {3})}, -100, 0, "mean", "unbatched");
    add({in({5, 4}, kT), targets({5}, {0, 3, 2, 1, 3})}, -100, 0, "mean", "strided");
    add({in({3, 6}, kE), targets({3}, {5, 0, 2})}, -100, 0, "sum", "expanded");
    add({in({1, 1}), targets({1}, {0})}, -100, 0, "mean", "one_class");
    add({in({0, 4}), targets({0}, {})}, -100, 0, "sum", "empty");
    {
      std::vector<double> big_t;
      for (int i = 0; i < 64; ++i) big_t.push_back(double((i * 37) % 1000));
      add({in({64, 1000}), targets({64}, big_t)}, -100, 0.1, "mean", "large");
    }
    return s;
  };
  r.errors = {
      error("target_out_of_range", [] { cross_entropy(zeros({2, 3}), tensor(std::vector<int64_t>{0, 3})); },
            ErrorKind::Index, {"cross_entropy", "[0, 3)", "-100"}),
      error("float_target", [] { cross_entropy(zeros({2, 3}), zeros({2})); }, ErrorKind::DType,
            {"cross_entropy", "int64 class indices"}),
      error("target_shape", [] { cross_entropy(zeros({2, 3}), zeros({3}, kInt64)); }, ErrorKind::Shape,
            {"cross_entropy", "[3]", "[2]"}),
      error("bad_reduction", [] { cross_entropy(zeros({2, 3}), zeros({2}, kInt64), -100, 0, "avg"); },
            ErrorKind::Value, {"cross_entropy", "reduction", "avg"}),
      error("smoothing_above_one", [] { cross_entropy(zeros({2, 3}), zeros({2}, kInt64), -100, 1.5); },
            ErrorKind::Value, {"cross_entropy", "label_smoothing", "[0, 1]"}),
  };
  return {r};
}

}  // namespace kiln::testing
