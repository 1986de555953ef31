// Rows for batch_norm and batch_norm_relu (include/kiln/ops/nn.h), the ops of src/ops/batch_norm.cpp,
// src/cpu/batch_norm_cpu.cpp, src/cuda/batch_norm_cuda.cpp and kernels/batch_norm.cu.
#include "ops/rows_nn_common.h"

namespace kiln::testing {

using namespace rows;

namespace {

// Values of channel c of x [N,C] or [N,C,H,W] are at (n*C + c)*S + i, S = H*W.
struct Channels {
  int64_t N, C, S;
};
Channels channels_of(const Ref& x) {
  const int64_t N = x.shape[0], C = x.shape[1];
  return {N, C, N * C != 0 ? numel_of(x.shape) / (N * C) : 0};
}

double channel_mean(const Ref& x, const Channels& ch, int64_t c) {
  double total = 0;
  for (int64_t n = 0; n < ch.N; ++n)
    for (int64_t i = 0; i < ch.S; ++i) total += x.v[(n * ch.C + c) * ch.S + i];
  return total / static_cast<double>(ch.N * ch.S);
}
// Sum of squared deviations from `mean` over channel c.
double channel_ssd(const Ref& x, const Channels& ch, int64_t c, double mean) {
  double total = 0;
  for (int64_t n = 0; n < ch.N; ++n)
    for (int64_t i = 0; i < ch.S; ++i) total += std::pow(x.v[(n * ch.C + c) * ch.S + i] - mean, 2);
  return total;
}

// y = (x - mean_c) / sqrt(var_c + eps) * w_c + b_c with the given per-channel statistics.
Ref normalise(const Ref& x, const std::vector<double>& mean, const std::vector<double>& var, const Ref* w,
              const Ref* b, double eps) {
  const Channels ch = channels_of(x);
  Ref y{x.shape, std::vector<double>(x.v.size()), std::nullopt};
  for (int64_t n = 0; n < ch.N; ++n)
    for (int64_t c = 0; c < ch.C; ++c)
      for (int64_t i = 0; i < ch.S; ++i) {
        const int64_t at = (n * ch.C + c) * ch.S + i;
        y.v[at] = (x.v[at] - mean[c]) / std::sqrt(var[c] + eps) * (w ? w->v[c] : 1.0) + (b ? b->v[c] : 0.0);
      }
  return y;
}

// Training: batch statistics (biased variance for normalising, unbiased for
// the running update). Returns {y, running_mean', running_var'}.
std::vector<Ref> ref_batch_norm_train(const Ref& x, const Ref* w, const Ref* b, const Ref* rm, const Ref* rv,
                                      double momentum, double eps) {
  const Channels ch = channels_of(x);
  const double count = static_cast<double>(ch.N * ch.S);
  std::vector<double> mean(ch.C), var(ch.C);
  Ref new_rm{{ch.C}, {}, std::nullopt}, new_rv{{ch.C}, {}, std::nullopt};
  for (int64_t c = 0; c < ch.C; ++c) {
    mean[c] = channel_mean(x, ch, c);
    const double ssd = channel_ssd(x, ch, c, mean[c]);
    var[c] = ssd / count;
    if (rm) new_rm.v.push_back((1 - momentum) * rm->v[c] + momentum * mean[c]);
    if (rv) new_rv.v.push_back((1 - momentum) * rv->v[c] + momentum * ssd / (count - 1));
  }
  return {normalise(x, mean, var, w, b, eps), new_rm, new_rv};
}

// Per-channel running statistics given as fixed float64 values exactly
// representable in bf16 (so every tested dtype sees the same numbers); the
// kiln call casts them to the input's dtype, which keeps them out of the
// gradient (they are buffers, not parameters).
SampleInput stats(std::vector<double> values) {
  const int64_t n = static_cast<int64_t>(values.size());
  return fixed({n}, std::move(values), kFloat64);
}
std::vector<double> means_of(int64_t C) {
  std::vector<double> v;
  for (int64_t c = 0; c < C; ++c) v.push_back(0.25 * static_cast<double>(c % 5) - 0.5);
  return v;
}
std::vector<double> vars_of(int64_t C) {
  std::vector<double> v;
  for (int64_t c = 0; c < C; ++c) v.push_back(0.5 + 0.25 * static_cast<double>(c % 4));
  return v;
}

constexpr double kEps = 1e-5;

using BatchNormFn = Tensor (*)(const Tensor&, const Tensor&, const Tensor&, const Tensor&, const Tensor&, bool,
                               double, double);

// y, or relu(y) for batch_norm_relu (its first output; the running
// statistics are the same).
std::vector<Ref> with_relu(std::vector<Ref> outs, bool relu) {
  if (relu)
    for (double& v : outs[0].v) v = v > 0 ? v : 0;
  return outs;
}

// batch_norm's row, or batch_norm_relu's: the same modes, inputs and reference.
OpRow batch_norm_row(const char* name, BatchNormFn op, bool relu) {
  OpRow r;
  r.name = name;
  r.dtypes = floating_dtypes();
  r.grad = grad_on(1e-5, 2e-3);
  // Normalising divides by a standard deviation computed from rounded data.
  r.tolerances = {{kFloat32, {1e-4, 1e-4}}, {kFloat16, {5e-3, 1e-2}}, {kBFloat16, {3e-2, 6e-2}}};
  // Attribute mode: "train" (batch statistics), "train_running_stats" (also
  // updates the running statistics in place: outputs y, mean', var'), or
  // "eval" (the running statistics normalise); affine: inputs weight and
  // bias follow x. The running statistics, where used, are the last two inputs.
  r.fn = [op](const std::vector<Tensor>& v, const Attrs& a) {
    const std::string& mode = a.s("mode");
    const bool affine = a.b("affine");
    const Tensor w = affine ? v[1] : Tensor(), b = affine ? v[2] : Tensor();
    if (mode == "train") return std::vector<Tensor>{op(v[0], w, b, Tensor(), Tensor(), true, 0.1, kEps)};
    const size_t s = affine ? 3 : 1;
    if (mode == "eval")
      return std::vector<Tensor>{op(v[0], w, b, v[s].to(v[0].dtype()), v[s + 1].to(v[0].dtype()), false, 0.1, kEps)};
    Tensor rm = v[s].to(v[0].dtype()).clone(), rv = v[s + 1].to(v[0].dtype()).clone();
    Tensor y = op(v[0], w, b, rm, rv, true, /*momentum=*/0.25, kEps);
    return std::vector<Tensor>{y, rm, rv};
  };
  r.ref = [relu](const std::vector<Ref>& v, const Attrs& a) {
    const std::string& mode = a.s("mode");
    const bool affine = a.b("affine");
    const Ref* w = affine ? &v[1] : nullptr;
    const Ref* b = affine ? &v[2] : nullptr;
    if (mode == "train")
      return with_relu({ref_batch_norm_train(v[0], w, b, nullptr, nullptr, 0, kEps)[0]}, relu);
    const size_t s = affine ? 3 : 1;
    if (mode == "eval") return with_relu({normalise(v[0], v[s].v, v[s + 1].v, w, b, kEps)}, relu);
    return with_relu(ref_batch_norm_train(v[0], w, b, &v[s], &v[s + 1], 0.25, kEps), relu);
  };
  return r;
}

}  // namespace

std::vector<OpRow> batch_norm_rows() {
  OpRow r = batch_norm_row("batch_norm", batch_norm, false);
  r.samples = [] {
    std::vector<Sample> s;
    // Training with batch statistics, affine: inputs x, weight, bias.
    for (const SampleInput& x :
         {in({4, 3}), in({2, 3, 4, 5}), in({2, 3, 4, 5}, kT), in({3, 2, 3, 3}, kE), in({1, 2, 1, 3}), in({5, 1}),
          in({8, 16, 12, 12})}) {
      const int64_t C = x.shape[1];
      s.push_back(sample({x, in({C}), in({C})}, Attrs().s("mode", "train").b("affine", true), "train"));
    }
    // Training without the affine transform.
    s.push_back(sample({in({3, 4, 2, 2})}, Attrs().s("mode", "train"), "train_noaffine"));
    // Not differentiable: the running statistics depend on x but carry no gradient.
    for (const SampleInput& x : {in({4, 3}), in({2, 3, 4, 5}, kS)}) {
      const int64_t C = x.shape[1];
      Sample smp = sample({x, in({C}), in({C}), stats(means_of(C)), stats(vars_of(C))},
                          Attrs().s("mode", "train_running_stats").b("affine", true), "train_running_stats");
      smp.differentiable = false;
      s.push_back(smp);
    }
    for (const SampleInput& x : {in({4, 3}), in({2, 3, 4, 5}), in({2, 3, 4, 5}, kT), in({1, 3}), in({1, 2, 1, 1})}) {
      const int64_t C = x.shape[1];
      s.push_back(sample({x, in({C}), in({C}), stats(means_of(C)), stats(vars_of(C))},
                         Attrs().s("mode", "eval").b("affine", true), "eval"));
    }
    s.push_back(sample({in({2, 3, 2, 2}), stats(means_of(3)), stats(vars_of(3))}, Attrs().s("mode", "eval"),
                       "eval_noaffine"));
    return s;
  };
  r.errors = {
      error("eval_without_running_stats", [] { batch_norm(zeros({2, 3}), Tensor(), Tensor(), Tensor(), Tensor(), false); },
            ErrorKind::Value, {"batch_norm", "needs running_mean and running_var"}),
      error("weight_shape", [] { batch_norm(zeros({2, 3}), zeros({4}), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Shape, {"batch_norm", "weight", "[3]"}),
      error("one_value_per_channel", [] { batch_norm(zeros({1, 3}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Value, {"batch_norm", "more than one value per channel"}),
      error("rank3_input", [] { batch_norm(zeros({2, 3, 4}), Tensor(), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Shape, {"batch_norm", "[N,C] or [N,C,H,W]"}),
  };

  // batch_norm_relu: small samples, so that no pre-activation lies within
  // gradcheck's step of relu's kink.
  OpRow f = batch_norm_row("batch_norm_relu", batch_norm_relu, true);
  f.samples = [] {
    std::vector<Sample> s;
    for (const SampleInput& x : {in({4, 3}), in({2, 3, 4, 5}), in({2, 3, 4, 5}, kT), in({3, 2, 3, 3}, kE)}) {
      const int64_t C = x.shape[1];
      s.push_back(sample({x, in({C}), in({C})}, Attrs().s("mode", "train").b("affine", true), "train"));
    }
    s.push_back(sample({in({3, 4, 2, 2})}, Attrs().s("mode", "train"), "train_noaffine"));
    Sample running = sample({in({4, 3}), in({3}), in({3}), stats(means_of(3)), stats(vars_of(3))},
                            Attrs().s("mode", "train_running_stats").b("affine", true), "train_running_stats");
    running.differentiable = false;
    s.push_back(running);
    for (const SampleInput& x : {in({4, 3}), in({2, 3, 4, 5})}) {
      const int64_t C = x.shape[1];
      s.push_back(sample({x, in({C}), in({C}), stats(means_of(C)), stats(vars_of(C))},
                         Attrs().s("mode", "eval").b("affine", true), "eval"));
    }
    return s;
  };
  f.errors = {
      error("weight_shape", [] { batch_norm_relu(zeros({2, 3}), zeros({4}), Tensor(), Tensor(), Tensor(), true); },
            ErrorKind::Shape, {"batch_norm_relu", "weight", "[3]"}),
  };
  return {r, f};
}

}  // namespace kiln::testing
